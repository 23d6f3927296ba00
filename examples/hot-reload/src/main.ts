// Hot reload while traffic flows. A copy of a small configuration is served by a router that follows a watching
// ConfigStore; while 8 clients send requests without pause, the script
//   1. edits the task group (model-a → model-c): the change is applied, traffic moves to model-c;
//   2. breaks a file (concurrency_limit = 0): the reload is rejected, the last good configuration keeps serving;
//   3. fixes it again.
// It prints each reload event and, at the end, how many requests succeeded and failed (none should fail).
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createConfigStore } from '@llmpool/config'
import { Router } from '@llmpool/router'
import { createMockUpstream } from '@llmpool/testing'

const upstream = await createMockUpstream()
upstream.setFaults('*', { latencyMs: 10 })
const directory = mkdtempSync(path.join(tmpdir(), 'llmpool-hot-reload-'))
cpSync(path.join(import.meta.dirname, '../config'), directory, { recursive: true })
const groupFile = path.join(directory, 'task-groups/group.toml')
writeFileSync(groupFile, readFileSync(groupFile, 'utf8').replace('BASE_URL', `${upstream.url}/v1`))

const store = await createConfigStore({ directory, watch: true, debounceMs: 100 })
/** Counts configurations applied: a request knows which configuration it started under. */
let generation = 0
store.onEvent((event) => {
  if (event.type === 'reload_applied') generation++
  if (event.type === 'reload_applied')
    console.log(
      `reload applied (${event.trigger}): task groups changed ${JSON.stringify(event.diff.task_groups.changed)}`,
    )
  if (event.type === 'reload_unchanged') console.log(`reload (${event.trigger}): nothing changed`)
  if (event.type === 'reload_rejected')
    console.log(
      `reload rejected, still serving the last good configuration: ${event.errors.map((e) => `${e.file} ${e.path}: ${e.message}`).join('; ')}`,
    )
})
const router = new Router({ config: store, healthChecks: false })

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const served = new Map<string, number>()
let ok = 0
let failed = 0
let stop = false
const clients = Array.from({ length: 8 }, async () => {
  while (!stop) {
    const startedUnder = generation
    try {
      const result = await router.generate('pool', {
        prompt: [{ role: 'user', content: [{ type: 'text', text: 'hello' }] }],
      })
      const model = result.routing.instance.split(':').pop()!
      // Only requests that started under the configuration in force count: earlier ones finish on theirs.
      if (startedUnder === generation) served.set(model, (served.get(model) ?? 0) + 1)
      ok++
    } catch (error) {
      if (failed++ < 5) console.log(`request failed: ${(error as Error).message}`)
      await pause(50)
    }
  }
})

const nextEvent = (...types: ('reload_applied' | 'reload_rejected' | 'reload_unchanged')[]) =>
  new Promise<void>((resolve) => {
    const subscription = store.onEvent((event) => {
      if (!(types as string[]).includes(event.type)) return
      subscription.dispose()
      resolve()
    })
  })
const edit = (change: (text: string) => string) => writeFileSync(groupFile, change(readFileSync(groupFile, 'utf8')))

await pause(1000)
console.log(
  `serving (requests started under the configuration in force): ${JSON.stringify(Object.fromEntries(served))}`,
)
console.log('\n1. replacing model-a by model-c')
let event = nextEvent('reload_applied')
edit((text) => text.replace('"openai:model-a"', '"openai:model-c"'))
await event
served.clear()
await pause(500)
console.log(
  `serving (requests started under the configuration in force): ${JSON.stringify(Object.fromEntries(served))}`,
)

console.log('\n2. breaking the file (concurrency_limit = 0)')
event = nextEvent('reload_rejected')
edit((text) => text.replace('concurrency_limit = 4', 'concurrency_limit = 0'))
await event
served.clear()
await pause(500)
console.log(
  `serving (requests started under the configuration in force): ${JSON.stringify(Object.fromEntries(served))}`,
)

console.log('\n3. fixing it: the files are back to the configuration in force, so the reload changes nothing')
event = nextEvent('reload_applied', 'reload_unchanged')
edit((text) => text.replace('concurrency_limit = 0', 'concurrency_limit = 4'))
await event
await pause(200)

stop = true
await Promise.all(clients)
const history = store.history()
console.log(
  `\n${ok} requests succeeded, ${failed} failed; ${history.applied.length} configurations applied, ${history.rejected.length} rejected`,
)
await router.dispose()
await store.dispose()
await upstream.close()
rmSync(directory, { recursive: true, force: true })
process.exitCode = failed === 0 ? 0 : 1
