/**
 * The cooldown-sharing suite: several "processes" (each with its own connections) share cooldowns through one Redis
 * — standalone (redis.cooldowns.test.ts) or a cluster (redis.cluster.test.ts).
 */
import { randomUUID } from 'node:crypto'
import { createRedisCooldowns, type RedisClientLike, type RedisCooldowns, type SharedCooldown } from '@llmpool/breaker'
import { afterAll, afterEach, describe, expect, test } from 'vitest'

/** Where the suite runs. */
export interface CooldownTarget {
  /** A URL the sharing connects to itself (`redis://` or `redis+cluster://`). */
  url(): string
  /** A new client of the caller's, as another process would have. */
  connection(): RedisClientLike
  /** Unique to this run; keys live under it. */
  keyPrefix: string
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Everything `sharing` hears from now on. */
export function heard(sharing: RedisCooldowns): SharedCooldown[] {
  const cooldowns: SharedCooldown[] = []
  sharing.subscribe((cooldown) => cooldowns.push(cooldown))
  return cooldowns
}

/** Polls until `cooldowns` holds one for `instance`; rejects after `ms`. */
export async function until(cooldowns: SharedCooldown[], instance: string, ms = 1000): Promise<SharedCooldown> {
  const deadline = Date.now() + ms
  for (;;) {
    const found = cooldowns.find((cooldown) => cooldown.instance === instance)
    if (found) return found
    if (Date.now() > deadline) throw new Error(`no cooldown of ${instance} heard within ${ms} ms`)
    await sleep(5)
  }
}

export function describeCooldownSharing(label: string, target: CooldownTarget): void {
  const opened: RedisCooldowns[] = []
  let errors: Error[] = []

  async function open(redis: RedisClientLike | string = target.url()): Promise<RedisCooldowns> {
    const sharing = await createRedisCooldowns({
      redis,
      keyPrefix: target.keyPrefix,
      onError: (error) => errors.push(error),
    })
    opened.push(sharing)
    return sharing
  }

  describe(`cooldown sharing: ${label}`, () => {
    afterEach(() => {
      expect(errors).toEqual([])
      errors = []
    })
    afterAll(async () => {
      await Promise.all(opened.map((sharing) => sharing.dispose()))
    })

    test('a publish is heard by the other processes with its remaining time, not by its own', async () => {
      const instance = `support.primary/openai:gpt-4o#${randomUUID()}`
      const one = await open()
      const two = await open(target.connection())
      const byOne = heard(one)
      const byTwo = heard(two)
      one.publish({ instance, remainingMs: 5000, kind: 'rate_limit', reason: '429, retry-after 5 s' })
      const cooldown = await until(byTwo, instance)
      expect(cooldown).toEqual({ instance, remainingMs: 5000, kind: 'rate_limit', reason: '429, retry-after 5 s' })
      await sleep(100)
      expect(byOne).toEqual([])
      expect(byTwo).toHaveLength(1)
    })

    test('a process that starts later reads the running ones with current(), the time left shrinking', async () => {
      const instance = `a/openai:gpt-4o#${randomUUID()}`
      const other = `b/openai:gpt-4o#${randomUUID()}`
      const one = await open()
      one.publish({ instance, remainingMs: 3000, kind: 'overloaded', reason: '529' })
      await sleep(50)
      const later = await open(target.connection())
      const first = await later.current([instance, other])
      expect(first).toHaveLength(1)
      expect(first[0]).toMatchObject({ instance, kind: 'overloaded', reason: '529' })
      expect(first[0]!.remainingMs).toBeGreaterThan(2500)
      expect(first[0]!.remainingMs).toBeLessThanOrEqual(2950)
      await sleep(200)
      const second = await later.current([instance])
      expect(second[0]!.remainingMs).toBeLessThanOrEqual(first[0]!.remainingMs - 150)
      // Its own cooldowns are never handed back to the process that published them.
      expect(await one.current([instance])).toEqual([])
    })

    test('an expired cooldown is gone', async () => {
      const instance = `c/openai:gpt-4o#${randomUUID()}`
      const one = await open()
      one.publish({ instance, remainingMs: 150, kind: 'auth', reason: '401' })
      const later = await open()
      expect(await later.current([instance])).toHaveLength(1)
      await sleep(250)
      expect(await later.current([instance])).toEqual([])
    })

    test('a longer cooldown replaces a shorter one in Redis, never the reverse', async () => {
      const instance = `d/openai:gpt-4o#${randomUUID()}`
      const [one, two, reader] = [await open(), await open(), await open()]
      one.publish({ instance, remainingMs: 5000, kind: 'rate_limit', reason: 'first' })
      await sleep(50)
      two.publish({ instance, remainingMs: 1000, kind: 'overloaded', reason: 'shorter' })
      await sleep(50)
      expect(await reader.current([instance])).toMatchObject([{ kind: 'rate_limit', reason: 'first' }])
      two.publish({ instance, remainingMs: 60_000, kind: 'quota_exhausted', reason: 'longer' })
      await sleep(50)
      const [stored] = await reader.current([instance])
      expect(stored).toMatchObject({ kind: 'quota_exhausted', reason: 'longer' })
      expect(stored!.remainingMs).toBeGreaterThan(59_000)
    })

    test('cooldowns of many instances: each key on its own hash tag, read back together', async () => {
      const instances = Array.from({ length: 12 }, (_, i) => `group.echelon/provider:model-${i}#${randomUUID()}`)
      const one = await open()
      instances.forEach((instance, i) =>
        one.publish({ instance, remainingMs: 10_000 + i, kind: 'rate_limit', reason: `${i}` }),
      )
      await sleep(50)
      const later = await open()
      const running = await later.current(instances)
      expect(running.map((cooldown) => cooldown.instance).sort()).toEqual([...instances].sort())
    })
  })
}
