import { cpSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type ConfigEvent, type ConfigStore, ConfigError, createConfigStore, type ResolvedConfig } from '../src/index'

const SOURCE = path.resolve(import.meta.dirname, '../../../configs/llms')
const directories: string[] = []
const stores: ConfigStore[] = []

function copyTree(): string {
  const directory = mkdtempSync(path.join(tmpdir(), 'llmpool-store-'))
  cpSync(SOURCE, directory, { recursive: true })
  directories.push(directory)
  return directory
}

async function open(directory: string, options: Partial<Parameters<typeof createConfigStore>[0]> = {}) {
  const store = await createConfigStore({ directory, env: {}, watch: true, debounceMs: 60, ...options })
  stores.push(store)
  return store
}

function edit(directory: string, file: string, change: (text: string) => string): void {
  const target = path.join(directory, file)
  writeFileSync(target, change(readFileSync(target, 'utf8')))
}

function nextEvent(store: ConfigStore, types: ConfigEvent['type'][], timeoutMs = 5000): Promise<ConfigEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${types.join('/')} event within ${timeoutMs} ms`)), timeoutMs)
    const subscription = store.onEvent((event) => {
      if (!types.includes(event.type)) return
      clearTimeout(timer)
      subscription.dispose()
      resolve(event)
    })
  })
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Every reference inside a configuration resolves inside the same configuration. */
function assertConsistent(config: ResolvedConfig): void {
  for (const pool of Object.values(config.pools)) {
    for (const group of pool.task_groups)
      expect(config.task_groups[group], `pool ${pool.name} → ${group}`).toBeDefined()
  }
  for (const wrapper of Object.values(config.wrappers)) {
    if (wrapper.type === 'pool') expect(config.pools[wrapper.pool_name]).toBeDefined()
    else expect(config.task_groups[wrapper.task_group_name]).toBeDefined()
  }
}

afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.dispose()))
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true })
})

describe('createConfigStore', () => {
  it('rejects an invalid first load with a ConfigError', async () => {
    const directory = copyTree()
    edit(directory, 'pools/fast-pool.toml', (text) => text.replace('task_groups = ["fast_group"]', 'task_groups = []'))
    const error = await createConfigStore({ directory, env: {} }).catch((caught: unknown) => caught)
    expect(ConfigError.isInstance(error)).toBe(true)
    expect((error as ConfigError).problems[0]).toMatchObject({ file: 'pools/fast-pool.toml', path: 'pool.task_groups' })
  })

  it('applies a valid change and reports what changed', async () => {
    const directory = copyTree()
    const store = await open(directory)
    const calls: Parameters<Parameters<ConfigStore['subscribe']>[0]>[] = []
    store.subscribe((...args) => calls.push(args))
    const applied = nextEvent(store, ['reload_applied'])
    edit(directory, 'pools/fast-pool.toml', (text) => text.replace('interval = 30', 'interval = 45'))
    await applied
    expect(store.current.pools.fast_pool!.health_check.interval).toBe(45)
    expect(calls).toHaveLength(1)
    const [next, previous, diff] = calls[0]!
    expect(next).toBe(store.current)
    expect(previous.pools.fast_pool!.health_check.interval).toBe(30)
    expect(diff.pools).toEqual({ added: [], changed: ['fast_pool'], removed: [] })
    expect(diff.task_groups.changed).toEqual([])
    expect(diff.wrappers.changed).toEqual([])
    expect(store.history().applied.map((record) => record.trigger)).toEqual(['initial', 'watch'])
    expect(store.stats().loads).toEqual({ applied: 2, rejected: 0, unchanged: 0 })
  })

  it('keeps the last good configuration when a change is invalid, and reports the problems', async () => {
    const directory = copyTree()
    const store = await open(directory)
    const before = store.current
    const listener: unknown[] = []
    store.subscribe((next) => listener.push(next))
    const rejected = nextEvent(store, ['reload_rejected'])
    edit(directory, 'task-groups/fast-group.toml', (text) =>
      text.replace('concurrency_limit = 10', 'concurrency_limit = 0'),
    )
    const event = await rejected
    expect(event.type === 'reload_rejected' && event.errors[0]).toMatchObject({
      code: 'invalid_value',
      file: 'task-groups/fast-group.toml',
      path: 'task_group.echelons.echelon1.concurrency_limit',
    })
    expect(store.current).toBe(before)
    expect(listener).toHaveLength(0)
    expect(store.history().rejected).toHaveLength(1)
    expect(store.stats().lastRejectedAt).toBeTypeOf('number')

    // Fixing the file applies again.
    const applied = nextEvent(store, ['reload_applied'])
    edit(directory, 'task-groups/fast-group.toml', (text) =>
      text.replace('concurrency_limit = 0', 'concurrency_limit = 12'),
    )
    await applied
    expect(store.current.task_groups.fast_group!.echelons.echelon1!.concurrency_limit).toBe(12)
  })

  it('coalesces a burst of writes into one reload', async () => {
    const directory = copyTree()
    const store = await open(directory, { debounceMs: 150 })
    const events: ConfigEvent[] = []
    store.onEvent((event) => events.push(event))
    for (let index = 1; index <= 10; index++) {
      edit(directory, 'pools/fast-pool.toml', (text) => text.replace(/interval = \d+/, `interval = ${30 + index}`))
      await sleep(10)
    }
    await nextEvent(store, ['reload_applied'])
    await sleep(400)
    expect(events.filter((event) => event.type.startsWith('reload_'))).toHaveLength(1)
    expect(store.current.pools.fast_pool!.health_check.interval).toBe(40)
  })

  it('never lets a subscriber or a reader see a half-applied change', async () => {
    const directory = copyTree()
    const store = await open(directory, { debounceMs: 30 })
    const seen: ResolvedConfig[] = []
    store.subscribe((next, previous) => {
      assertConsistent(next)
      assertConsistent(previous)
      seen.push(next)
    })
    let reads = 0
    let stop = false
    const reader = (async () => {
      while (!stop) {
        assertConsistent(store.current)
        reads++
        await sleep(1)
      }
    })()
    // Rename fast_group to quick_group: three files must change together; each intermediate state is invalid.
    edit(directory, '_registry.toml', (text) =>
      text
        .replace('fast_group = {', 'quick_group = {')
        .replace('fast_pool = ["fast_group"]', 'fast_pool = ["quick_group"]')
        .replace(
          '"fast_group", "thinking_group", "plan_group", "execute_group"',
          '"quick_group", "thinking_group", "plan_group", "execute_group"',
        ),
    )
    await sleep(120)
    edit(directory, 'task-groups/fast-group.toml', (text) =>
      text
        .replace('name = "fast_group"', 'name = "quick_group"')
        .replaceAll('fast_group.echelon', 'quick_group.echelon'),
    )
    await sleep(120)
    edit(directory, 'pools/fast-pool.toml', (text) =>
      text.replace('task_groups = ["fast_group"]', 'task_groups = ["quick_group"]'),
    )
    await sleep(120)
    edit(directory, 'task-groups/execute-group.toml', (text) =>
      text.replaceAll('fast_group.echelon3', 'quick_group.echelon3'),
    )
    await sleep(120)
    const applied = nextEvent(store, ['reload_applied'])
    edit(directory, 'wrappers/task-group-wrappers.toml', (text) =>
      text.replace('task_group_name = "fast_group"', 'task_group_name = "quick_group"'),
    )
    await applied
    await sleep(200)
    stop = true
    await reader
    expect(reads).toBeGreaterThan(10)
    expect(store.current.task_groups.quick_group).toBeDefined()
    expect(store.current.task_groups.fast_group).toBeUndefined()
    expect(store.history().rejected.length).toBeGreaterThan(0)
    const last = seen[seen.length - 1]!
    expect(last).toBe(store.current)
  })

  it('reports removed and added entries in the diff', async () => {
    const directory = copyTree()
    const store = await open(directory)
    const applied = nextEvent(store, ['reload_applied'])
    edit(directory, 'wrappers/pool-wrappers.toml', (text) =>
      text.replace(
        /# 规划任务轮询池包装器\nplan_pool_wrapper = \{[^}]*\}\n/,
        'plan_pool_copy = { type = "pool", pool_name = "plan_pool" }\n',
      ),
    )
    const event = await applied
    expect(event.type === 'reload_applied' && event.diff.wrappers).toEqual({
      added: ['plan_pool_copy'],
      changed: [],
      removed: ['plan_pool_wrapper'],
    })
  })

  it('ignores changes to files that are not TOML, and reports an unchanged reload', async () => {
    const directory = copyTree()
    const store = await open(directory)
    const events: ConfigEvent[] = []
    store.onEvent((event) => events.push(event))
    writeFileSync(path.join(directory, 'notes.md'), '# notes')
    await sleep(300)
    expect(events).toHaveLength(0)
    const outcome = await store.reload()
    expect(outcome.status).toBe('unchanged')
    expect(store.stats().loads.unchanged).toBe(1)
  })

  it('sees a changed environment variable on reload', async () => {
    const directory = copyTree()
    const env: NodeJS.ProcessEnv = {}
    const store = await open(directory, { env, watch: false })
    expect(store.current.task_groups.execute_group!.echelons.echelon1!.base_url).toBe('https://api.openai.com')
    env.OPENAI_BASE_URL = 'http://127.0.0.1:9999/v1'
    const outcome = await store.reload()
    expect(outcome.status).toBe('applied')
    expect(outcome.status === 'applied' && outcome.diff.task_groups.changed).toEqual(['execute_group'])
  })

  it('polls every reload_interval as a fallback for missed file events', async () => {
    const directory = copyTree()
    edit(directory, '_registry.toml', (text) => text.replace('reload_interval = 300', 'reload_interval = 7'))
    const timers: { callback: () => void; ms: number; cleared: boolean }[] = []
    // Long timers (polling, the debounce) are recorded and fired by hand; the short settle wait runs for real.
    const clock = {
      now: () => Date.now(),
      setTimeout: (callback: () => void, ms: number) => {
        if (ms <= 1000) return setTimeout(callback, ms)
        const timer = { callback, ms, cleared: false }
        timers.push(timer)
        return timer
      },
      clearTimeout: (handle: unknown) => {
        if (handle && typeof handle === 'object' && 'cleared' in handle) (handle as { cleared: boolean }).cleared = true
        else clearTimeout(handle as NodeJS.Timeout)
      },
    }
    const store = await open(directory, { clock, debounceMs: 3_600_000 })
    edit(directory, 'pools/fast-pool.toml', (text) => text.replace('interval = 30', 'interval = 31'))
    const poll = timers.find((timer) => timer.ms === 7000 && !timer.cleared)
    expect(poll).toBeDefined()
    const applied = nextEvent(store, ['reload_applied'])
    poll!.callback()
    const event = await applied
    expect(event.type === 'reload_applied' && event.trigger).toBe('poll')
    expect(store.current.pools.fast_pool!.health_check.interval).toBe(31)
  })

  it('stops watching on dispose', async () => {
    const directory = copyTree()
    const store = await open(directory)
    expect(store.stats().watching).toBe(true)
    await store.dispose()
    expect(store.stats().watching).toBe(false)
    const events: ConfigEvent[] = []
    store.onEvent((event) => events.push(event))
    edit(directory, 'pools/fast-pool.toml', (text) => text.replace('interval = 30', 'interval = 33'))
    await sleep(300)
    expect(events).toHaveLength(0)
    expect(store.current.pools.fast_pool!.health_check.interval).toBe(30)
  })

  it('reports a throwing subscriber as an event and still swaps', async () => {
    const directory = copyTree()
    const store = await open(directory, { watch: false })
    store.subscribe(() => {
      throw new Error('subscriber bug')
    })
    const events: ConfigEvent[] = []
    store.onEvent((event) => events.push(event))
    edit(directory, 'pools/fast-pool.toml', (text) => text.replace('interval = 30', 'interval = 34'))
    const outcome = await store.reload()
    expect(outcome.status).toBe('applied')
    expect(events.map((event) => event.type)).toContain('listener_error')
    expect(store.current.pools.fast_pool!.health_check.interval).toBe(34)
  })

  it('bounds its history', async () => {
    const directory = copyTree()
    const store = await open(directory, { watch: false, historySize: 2 })
    for (const interval of [41, 42, 43]) {
      edit(directory, 'pools/fast-pool.toml', (text) => text.replace(/interval = \d+/, `interval = ${interval}`))
      await store.reload()
    }
    const applied = store.history().applied
    expect(applied).toHaveLength(2)
    expect(applied[1]!.diff.pools.changed).toEqual(['fast_pool'])
    expect(applied[1]!.version).toBe('1.0.0')
  })

  it('checks its options', async () => {
    await expect(createConfigStore({ directory: SOURCE, debounceMs: -1 })).rejects.toThrow(RangeError)
    await expect(createConfigStore({ directory: SOURCE, settleMs: Number.NaN })).rejects.toThrow(RangeError)
    await expect(createConfigStore({ directory: SOURCE, historySize: 0 })).rejects.toThrow(RangeError)
    await expect(createConfigStore({ directory: SOURCE, startupWaitMs: -1 })).rejects.toThrow(RangeError)
  })
})

describe('never applying a half-written file', () => {
  const REGISTRY = '_registry.toml'

  /** Every configuration the store applies, and every event, from now on. */
  function record(store: ConfigStore) {
    const applied: ResolvedConfig[] = []
    const events: ConfigEvent[] = []
    store.subscribe((next) => applied.push(next))
    store.onEvent((event) => events.push(event))
    return { applied, events }
  }

  const hasTargets = (config: ResolvedConfig) =>
    Object.keys(config.pools).length + Object.keys(config.task_groups).length > 0

  it('a registry emptied and written again 50 ms later: the empty file is never applied, the full one is', async () => {
    const directory = copyTree()
    const store = await open(directory, { debounceMs: undefined })
    const { applied, events } = record(store)
    const text = readFileSync(path.join(directory, REGISTRY), 'utf8')
    const started = Date.now()
    let readerSawNoTargets = false
    let stop = false
    const reader = (async () => {
      while (!stop) {
        if (!hasTargets(store.current)) readerSawNoTargets = true
        await sleep(2)
      }
    })()
    const done = nextEvent(store, ['reload_applied'])
    writeFileSync(path.join(directory, REGISTRY), '')
    await sleep(50)
    writeFileSync(path.join(directory, REGISTRY), text.replace('description = "', 'description = "(rewritten) '))
    await done
    const latency = Date.now() - started - 50
    await sleep(300)
    stop = true
    await reader
    expect(readerSawNoTargets).toBe(false)
    expect(applied.every(hasTargets)).toBe(true)
    expect(store.current.registry.registry.description).toMatch(/^\(rewritten\) /)
    expect(Object.keys(store.current.pools).sort()).toEqual(['fast_pool', 'plan_pool', 'thinking_pool'])
    // Debounce (100 ms) and one settle (50 ms) after the last write, with room for a busy machine.
    expect(latency).toBeLessThan(1000)
    expect(events.filter((event) => event.type === 'reload_applied')).toHaveLength(1)
  })

  it('a write caught halfway is not read: the reload waits until the file holds still', async () => {
    const directory = copyTree()
    // A debounce shorter than the pause between the two writes: only the settle wait keeps the empty file unread.
    const store = await open(directory, { debounceMs: 10, settleMs: 150 })
    const { applied, events } = record(store)
    const text = readFileSync(path.join(directory, REGISTRY), 'utf8')
    const done = nextEvent(store, ['reload_applied'])
    writeFileSync(path.join(directory, REGISTRY), '')
    await sleep(50)
    writeFileSync(path.join(directory, REGISTRY), `${text}\n# rewritten\n`)
    await done
    expect(events.filter((event) => event.type === 'reload_rejected')).toEqual([])
    expect(applied.every(hasTargets)).toBe(true)
  })

  it('a truncation never completed is rejected with the problem, and the last good configuration keeps serving', async () => {
    const directory = copyTree()
    const store = await open(directory)
    const before = store.current
    const { applied } = record(store)
    const rejected = nextEvent(store, ['reload_rejected'])
    writeFileSync(path.join(directory, REGISTRY), '')
    const event = await rejected
    expect(event.type === 'reload_rejected' && event.errors).toEqual([
      expect.objectContaining({ code: 'nothing_enabled', file: REGISTRY, path: '' }),
    ])
    expect(store.current).toBe(before)
    expect(applied).toEqual([])
    expect(store.history().rejected).toHaveLength(1)
    // A registry that keeps its tables but disables everything is refused the same way.
    const again = nextEvent(store, ['reload_rejected'])
    writeFileSync(
      path.join(directory, REGISTRY),
      readFileSync(path.join(SOURCE, REGISTRY), 'utf8').replaceAll('enabled = true', 'enabled = false'),
    )
    const disabled = await again
    expect(disabled.type === 'reload_rejected' && disabled.errors).toContainEqual(
      expect.objectContaining({ code: 'nothing_enabled', path: 'pools' }),
    )
    expect(store.current).toBe(before)
  })

  it('a polled reload looks twice too: a file that changes between the looks is looked at again', async () => {
    const directory = copyTree()
    const timers: { callback: () => void; ms: number; done: boolean }[] = []
    const clock = {
      now: () => Date.now(),
      setTimeout: (callback: () => void, ms: number) => {
        const timer = { callback, ms, done: false }
        timers.push(timer)
        return timer
      },
      clearTimeout: (handle: unknown) => {
        if (handle) (handle as { done: boolean }).done = true
      },
    }
    const fire = async (ms: number) => {
      for (let waited = 0; waited < 5000; waited += 5) {
        const timer = timers.find((each) => each.ms === ms && !each.done)
        if (timer) {
          timer.done = true
          timer.callback()
          return
        }
        await sleep(5)
      }
      throw new Error(`no ${ms} ms timer`)
    }
    // Every timer is fired by hand: the debounce never (watch events do not reload here), the poll and the settle
    // waits when the test says so.
    const store = await open(directory, { clock, debounceMs: 3_600_000, settleMs: 40 })
    const { applied } = record(store)
    edit(directory, 'pools/fast-pool.toml', (text) => text.replace('interval = 30', 'interval = 31'))
    const done = nextEvent(store, ['reload_applied'])
    await fire(300_000) // the poll: it finds fast-pool.toml changed and looks at it again after 40 ms
    edit(directory, 'pools/fast-pool.toml', (text) => text.replace('interval = 31', 'interval = 32 '))
    await fire(40) // the second look differs: a third one
    expect(applied).toEqual([])
    await fire(40) // the file held still: read it
    await done
    expect(applied).toHaveLength(1)
    expect(applied[0]!.pools.fast_pool!.health_check.interval).toBe(32)
  })
})

describe('starting while a file is being written (startupWaitMs)', () => {
  const REGISTRY = '_registry.toml'
  /** The registry emptied now (as a write in progress leaves it), and written back whole after `ms`. */
  function emptiedFor(directory: string, ms: number): Promise<void> {
    const whole = readFileSync(path.join(directory, REGISTRY), 'utf8')
    writeFileSync(path.join(directory, REGISTRY), '')
    return new Promise((resolve) =>
      setTimeout(() => {
        writeFileSync(path.join(directory, REGISTRY), whole)
        resolve()
      }, ms),
    )
  }

  it('waits for a file written just now to become valid, then loads it', async () => {
    const directory = copyTree()
    const written = emptiedFor(directory, 300)
    const store = await open(directory, { watch: false, startupWaitMs: 3_000 })
    await written
    expect(Object.keys(store.current.pools)).toContain('fast_pool')
  })

  it('fails with the problems when the file stays invalid for the whole wait', async () => {
    const directory = copyTree()
    writeFileSync(path.join(directory, REGISTRY), '')
    const error = await open(directory, { watch: false, startupWaitMs: 200 }).catch((caught: unknown) => caught)
    expect(ConfigError.isInstance(error)).toBe(true)
    expect((error as ConfigError).problems.map((problem) => problem.code)).toContain('nothing_enabled')
  })

  it('does not wait for a file that was not written lately, nor without the option', async () => {
    for (const options of [{ startupWaitMs: 3_000, old: true }, { old: false }]) {
      const directory = copyTree()
      const written = emptiedFor(directory, 300)
      if (options.old) utimesSync(path.join(directory, REGISTRY), new Date(2020, 0, 1), new Date(2020, 0, 1))
      const opened = open(directory, {
        watch: false,
        ...(options.startupWaitMs ? { startupWaitMs: options.startupWaitMs } : {}),
      })
      await expect(opened, JSON.stringify(options)).rejects.toSatisfy((error) => ConfigError.isInstance(error))
      await written
    }
  })
})
