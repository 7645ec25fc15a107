import { defineConfig } from 'vitest/config';
import vue from '@vitejs/plugin-vue';

/** Client unit tests (`npm test` at the root runs them): pure logic, no browser needed. */
export default defineConfig({
  plugins: [vue()],
  // Generous timeouts: CI runs these on 2 cores shared with the rest of the suite.
  test: { include: ['test/**/*.test.ts'], environment: 'node', testTimeout: 60_000 },
});
