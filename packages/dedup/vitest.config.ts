import { defineConfig } from 'vitest/config';

// real-data tests take seconds (more on a loaded 2-core machine): vitest's 5 s default is too tight
export default defineConfig({ test: { include: ['test/**/*.test.ts'], testTimeout: 60000, hookTimeout: 60000 } });
