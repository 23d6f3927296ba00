// A user's TypeScript file. test/pack.test.ts compiles it against the installed tarballs' declarations with
// `strict` and without `skipLibCheck`, in a project without ioredis or pino (the memory limiter needs neither), so
// that every published .d.ts, and what it imports, type-checks for such a user. The root tsconfig checks it against
// the sources too.
import { type Clock, LLMPoolError, systemClock } from '@llmpool/schema'
import { ConfigError, createConfigStore, loadConfig, type ResolvedConfig } from '@llmpool/config'
import { type Lease, type Limiter, memoryBackend } from '@llmpool/limiter'
import { Router, type RouterEvent } from '@llmpool/router'
import { createLLMPool, type LLMPool } from '@llmpool/wrappers'

const clock: Clock = systemClock
const limiter: Limiter = memoryBackend({ clock }).create('types-consumer', { kind: 'concurrency', limit: 2 })

export async function withPermit<T>(work: () => Promise<T>): Promise<T> {
  const lease: Lease = await limiter.acquire(1, { deadline: clock.now() + 1000 })
  try {
    return await work()
  } finally {
    lease.release()
  }
}

export async function firstPool(directory: string): Promise<string | undefined> {
  try {
    const configuration: ResolvedConfig = await loadConfig({ directory })
    return Object.keys(configuration.registry.pools)[0]
  } catch (error) {
    if (ConfigError.isInstance(error)) return error.problems[0]?.message
    if (LLMPoolError.isInstance(error)) return error.code
    throw error
  }
}

export async function route(directory: string): Promise<string> {
  const store = await createConfigStore({ directory })
  const router = new Router({ config: store })
  const events: RouterEvent['type'][] = []
  router.on((event: RouterEvent) => events.push(event.type))
  const result = await router.generate('fast_pool', {
    prompt: [{ role: 'user', content: [{ type: 'text', text: 'Hello' }] }],
  })
  return `${result.routing.instance} after ${events.length} events`
}

export async function open(directory: string): Promise<LLMPool> {
  const pool = await createLLMPool({ configDir: directory })
  const model = pool.wrapper('fast_pool_wrapper')
  console.log(model.specificationVersion, model.provider)
  return pool
}
