import { defineConfig } from 'vitest/config';
import vue from '@vitejs/plugin-vue';

/** Client unit tests (`npm test` at the root runs them): pure logic, no browser needed. */
export default defineConfig({
  plugins: [vue()],
  test: { include: ['test/**/*.test.ts'], environment: 'node' },
});
