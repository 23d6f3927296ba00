import { defineConfig } from 'vitest/config'

export default defineConfig({
  // Sibling packages resolve to their `src` through this export condition: no build needed before tests.
  resolve: { conditions: ['@llmpool/source'] },
  ssr: { resolve: { conditions: ['@llmpool/source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
})
