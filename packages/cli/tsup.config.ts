import { defineConfig } from 'tsup'

export default defineConfig({
  entry: ['src/index.ts', 'src/bin.ts'],
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  // An optional dependency, loaded by `llmpool serve` only: never bundled.
  external: ['@llmpool/gateway'],
})
