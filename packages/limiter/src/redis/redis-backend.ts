import { type Disposable, systemClock } from '@llmpool/schema'
import type { LimiterBackend } from '../backend'
import { CompositeLimiter } from '../composite'
import type { Limiter } from '../types'
import { RedisConnection } from './connection'
import { LeaseRenewer } from './lease-renewer'
import { OperationBatch } from './operation-batch'
import type { RedisBackendEvent, RedisBackendOptions } from './options'
import { createPart } from './parts'
import { RedisLimiter, type RedisLimiterContext } from './redis-limiter'
import { Wakeups } from './wakeups'

export interface RedisBackend extends LimiterBackend {
  /**
   * All-or-nothing over limiters. Over limiters of this backend on a standalone Redis: one script takes every part
   * atomically. Otherwise (a Redis Cluster, where the parts' keys live in different slots, or limiters of other
   * backends): a `CompositeLimiter`, which takes the parts in turn and cancels on a denial.
   */
  composite(name: string, parts: Limiter[]): Limiter
  /** Listens to `unavailable` (once per outage) and `recovered` events; returns a disposable. */
  onEvent(listener: (event: RedisBackendEvent) => void): Disposable
  /** Resolves when Redis answers a PING now (bounded by the command timeout); rejects while it cannot be used. */
  ping(): Promise<void>
}

/**
 * How long the permits of a crashed process stay taken. Renewed every third of it, so a live process misses its
 * renewal only after an event-loop stall of two thirds of it (6.7 s).
 */
const DEFAULT_LEASE_TTL_MS = 10_000

function positive(value: number, name: string): number {
  if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`${name} must be a number > 0 (got ${value})`)
  return value
}

/**
 * Limits shared by every process that uses the same Redis and key prefix. Each acquisition is one Lua script
 * call timed by Redis; concurrency leases expire unless their process renews them; see docs/limits.md.
 */
export function redisBackend(options: RedisBackendOptions): RedisBackend {
  const { redis, prefix = 'llmpool', onUnavailable: policy = 'fail-closed', clock = systemClock } = options
  if (
    typeof redis !== 'string' &&
    (typeof redis !== 'object' || redis === null || typeof redis.defineCommand !== 'function')
  )
    throw new TypeError('redisBackend() needs `redis`: an ioredis client or a Redis URL')
  if (typeof prefix !== 'string' || prefix === '' || /[{}]/.test(prefix))
    throw new RangeError(`prefix must be a non-empty string without braces (got ${JSON.stringify(prefix)})`)
  if (policy !== 'fail-closed' && policy !== 'fallback-memory')
    throw new RangeError(`onUnavailable must be "fail-closed" or "fallback-memory" (got ${JSON.stringify(policy)})`)
  const leaseTtlMs = Math.ceil(positive(options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS, 'leaseTtlMs'))
  const commandTimeoutMs = positive(options.commandTimeoutMs ?? 1000, 'commandTimeoutMs')

  const listeners = new Set<(event: RedisBackendEvent) => void>()
  if (options.onEvent) listeners.add(options.onEvent)
  const emit = (event: RedisBackendEvent) => {
    for (const listener of listeners) {
      try {
        listener(event)
      } catch (error) {
        queueMicrotask(() => {
          throw error
        })
      }
    }
  }

  const connection = new RedisConnection({ redis, commandTimeoutMs, policy, clock, emit })
  const renewer = new LeaseRenewer(connection, leaseTtlMs, clock)
  const wakeups = new Wakeups(connection)
  const batch = new OperationBatch(connection)
  // 48 random bits per backend, then a counter: lease ids unique across processes.
  const token = `${crypto.randomUUID().replaceAll('-', '').slice(0, 12)}.`
  let sequence = 0
  const context: RedisLimiterContext = {
    connection,
    renewer,
    wakeups,
    batch,
    clock,
    policy,
    prefix,
    leaseTtlMs,
    leaseId: () => token + (++sequence).toString(36),
  }
  const created = new Set<Limiter>()
  const track = <T extends Limiter>(limiter: T): T => {
    created.add(limiter)
    return limiter
  }

  return {
    create: (name, spec) => track(new RedisLimiter(name, [createPart(prefix, name, spec, leaseTtlMs)], context, spec)),
    composite: (name, parts) => {
      if (parts.length === 0) throw new RangeError('a composite limiter needs at least one part')
      const atomic =
        !connection.isCluster &&
        new Set(parts).size === parts.length &&
        parts.every(
          (part): part is RedisLimiter =>
            part instanceof RedisLimiter && created.has(part) && part.kind !== 'composite',
        )
      if (!atomic) return track(new CompositeLimiter(name, parts, clock))
      const members = parts as RedisLimiter[]
      return track(
        new RedisLimiter(
          name,
          members.flatMap((member) => member.parts),
          context,
          members,
        ),
      )
    },
    ping: async () => {
      await connection.run((client) => client.ping())
    },
    onEvent: (listener) => {
      listeners.add(listener)
      return { dispose: () => listeners.delete(listener) }
    },
    dispose: async () => {
      for (const limiter of created) if (limiter instanceof RedisLimiter) limiter.dispose()
      created.clear()
      renewer.stop()
      wakeups.close()
      await connection.close()
    },
  }
}
