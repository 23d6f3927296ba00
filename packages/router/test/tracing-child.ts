/**
 * Run by tracing.test.ts in a process of its own (nothing else there loads @opentelemetry/api): one request through
 * a router without `tracing`, then one through a router with it. Prints whether the package was loaded after each.
 * Usage: node --import tsx --conditions=@llmpool/source tracing-child.ts CONFIG_DIRECTORY
 */
import { createRequire } from 'node:module'
import { loadConfig } from '@llmpool/config'
import { Router } from '../src/index'

const loaded = () =>
  Object.keys(createRequire(import.meta.url).cache).some((file) => file.includes('@opentelemetry/api'))
const prompt = { prompt: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'hello' }] }] }

const config = await loadConfig({ directory: process.argv[2]!, env: {} })
const report: Record<string, boolean> = {}
for (const tracing of [false, true]) {
  const router = new Router({ config, healthChecks: false, tracing })
  await router.generate('group', prompt)
  await router.dispose()
  report[tracing ? 'withTracing' : 'withoutTracing'] = loaded()
}
process.stdout.write(JSON.stringify(report))
