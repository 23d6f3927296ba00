import type { Clock } from '@llmpool/schema'
import { CompositeLimiter } from './composite'
import { CompositeMemoryLimiter } from './memory/composite'
import { createMemoryLimiter } from './memory/index'
import { MemoryLimiter } from './memory/memory-limiter'
import type { Limiter, LimitSpec, SyncLimiter } from './types'

/**
 * Where limits are kept. The router creates every limiter through one backend: the embedded memory backend for one
 * process, or the Redis backend so that several processes share the limits of the same names.
 */
export interface LimiterBackend {
  /** A limiter enforcing `spec`. In a shared backend, limiters of the same name share their capacity. */
  create(name: string, spec: LimitSpec): Limiter
  /** All-or-nothing over limiters this backend created. */
  composite(name: string, parts: Limiter[]): Limiter
  /** Disposes every limiter it created and closes what it opened. */
  dispose(): Promise<void>
}

export interface MemoryBackend extends LimiterBackend {
  create(name: string, spec: LimitSpec): SyncLimiter
  composite(name: string, parts: Limiter[]): SyncLimiter
}

export interface MemoryBackendOptions {
  /** Time source; a fake clock in tests. */
  clock?: Clock
}

/** The embedded default: limits in this process's memory, O(1), no timers on the hot path. */
export function memoryBackend(options: MemoryBackendOptions = {}): MemoryBackend {
  const created = new Set<SyncLimiter>()
  const track = <T extends SyncLimiter>(limiter: T): T => {
    created.add(limiter)
    return limiter
  }
  return {
    create: (name, spec) => track(createMemoryLimiter(name, spec, options.clock)),
    composite: (name, parts) => {
      if (!parts.every((part): part is MemoryLimiter => part instanceof MemoryLimiter))
        throw new TypeError(
          'a memory composite takes limiters of the memory backend; use compositeLimiter() for others',
        )
      return track(new CompositeMemoryLimiter(name, parts, options.clock))
    },
    dispose: async () => {
      for (const limiter of created) limiter.dispose()
      created.clear()
    },
  }
}

/** All-or-nothing over limiters of any backends (asynchronous; see `CompositeLimiter`). */
export function compositeLimiter(name: string, parts: Limiter[], clock?: Clock): Limiter {
  return new CompositeLimiter(name, parts, clock)
}
