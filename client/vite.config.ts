import { defineConfig, type ProxyOptions } from 'vite';
import vue from '@vitejs/plugin-vue';

/** Where the OnAir server listens in development (`npm start` at the repository root). */
const SERVER = 'http://127.0.0.1:8080';

const proxy: Record<string, ProxyOptions> = {
  '/api': { target: SERVER },
  '/ws': { target: SERVER, ws: true },
};

export default defineConfig({
  plugins: [vue()],
  server: { port: 5173, strictPort: false, proxy },
  preview: { port: 4173, proxy },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // mediasoup-client's newest handlers (Chrome111, Firefox120, Safari12) set the floor anyway.
    target: ['chrome111', 'firefox120', 'safari16.4'],
    sourcemap: true,
  },
});
