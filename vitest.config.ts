import { defineConfig } from 'vitest/config';

// Unit tests (test/unit) need no root. Integration tests (test/integration) need root and
// the real kernel; each builds its own throwaway host namespace (test/helpers/sandbox.ts).
// Files run one at a time: they start real containers and the machine has two cores.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
