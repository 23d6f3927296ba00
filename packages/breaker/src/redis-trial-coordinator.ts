import { type Clock, RedisProblemError } from '@llmpool/schema'
import type { RedisClientLike } from './redis-client'
import type { TrialCoordinator, TrialRound } from './types'
import { waitAtMost } from './wait-at-most'

/** Takes the round when nobody holds it; else answers the holder's time left (ms, ≥ 1). */
const CLAIM = `if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
return math.max(1, redis.call('PTTL', KEYS[1]))`
/** Keeps the round for ARGV[2] ms more if ARGV[1] still holds it; 1 if so, 0 if not. */
const EXTEND = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`
/** Gives the round up if ARGV[1] still holds it. */
const END = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`

/** The round when Redis cannot say: this process runs its trials as an unshared breaker would. */
const LOCAL: TrialRound = { granted: true, retryAfterMs: 0, extend: () => {}, end: () => {} }

export interface RedisTrialCoordinatorOptions {
  /** The group's command connection. */
  publisher: RedisClientLike
  /** The breaker's shared name, for messages. */
  name: string
  /** `trialKey(keyPrefix, name)`. */
  key: string
  /** Unique per process (the group's id); each claim adds a counter. */
  owner: string
  /** How long a claim may wait for Redis before the breaker runs its trials locally. */
  syncTimeoutMs: number
  clock: Clock
  /** Reports Redis problems (the group's `onError`). */
  report(error: unknown): void
}

/** A round this process holds in Redis under `token`. It lapses locally no later than in Redis. */
class HeldRound implements TrialRound {
  readonly retryAfterMs = 0
  #until: number
  #lost = false

  constructor(
    private readonly options: RedisTrialCoordinatorOptions,
    private readonly token: string,
    /** When the claim was sent, plus its ttl: Redis's expiry is later. */
    until: number,
  ) {
    this.#until = until
  }

  get granted(): boolean {
    return !this.#lost && this.options.clock.now() < this.#until
  }

  extend(ttlMs: number): void {
    const { publisher, key, clock, report } = this.options
    this.#until = clock.now() + ttlMs
    publisher.call('EVAL', EXTEND, 1, key, this.token, Math.ceil(ttlMs)).then((kept) => {
      // The round lapsed in Redis (this process stalled longer than the trial timeout) and may be another's now.
      if (kept !== 1) this.#lost = true
    }, report)
  }

  end(): void {
    this.#lost = true
    this.options.publisher.call('EVAL', END, 1, this.options.key, this.token).catch(this.options.report)
  }
}

/**
 * Shares a breaker's half-open trials through Redis: the first process whose half-open breaker asks for a trial
 * takes the round (`SET NX PX trialTimeoutMs` on the breaker's trial key) and runs up to `halfOpenRequests` trials;
 * the others refuse trials until that round ends (the holder closes or opens the breaker, and every replica follows
 * its published change) or lapses (the holder died: trialTimeoutMs after its last trial started). Each trial that
 * starts keeps the round for its timeout. When Redis is not connected, or does not answer within `syncTimeoutMs`,
 * the breaker runs its trials locally and the problem is reported.
 */
export function redisTrialCoordinator(options: RedisTrialCoordinatorOptions): TrialCoordinator {
  let claims = 0
  return {
    claim(ttlMs) {
      const { publisher, name, key, owner, syncTimeoutMs, clock, report } = options
      if (publisher.status !== 'ready') {
        report(
          new RedisProblemError(
            'redis_not_connected',
            `Redis is not connected (${publisher.status}); breaker "${name}" runs its half-open trials without the other processes`,
          ),
        )
        return LOCAL
      }
      const token = `${owner}:${++claims}`
      const until = clock.now() + ttlMs
      let answer: unknown
      let failure: unknown
      const reply = publisher.call('EVAL', CLAIM, 1, key, token, Math.ceil(ttlMs)).then(
        (value) => void (answer = value),
        (error: unknown) => void (failure = error ?? new Error('claim failed')),
      )
      return waitAtMost(reply, syncTimeoutMs, clock).then((inTime): TrialRound => {
        if (!inTime || failure !== undefined) {
          report(
            failure ??
              new RedisProblemError(
                'redis_timeout',
                `Redis did not answer within ${syncTimeoutMs} ms; breaker "${name}" runs its half-open trials without the other processes`,
              ),
          )
          // Local behaviour; if the claim still goes through, ending this round frees it.
          return { ...LOCAL, end: () => void publisher.call('EVAL', END, 1, key, token).catch(report) }
        }
        if (answer === 0) return new HeldRound(options, token, until)
        return {
          granted: false,
          retryAfterMs: typeof answer === 'number' ? answer : ttlMs,
          extend: () => {},
          end: () => {},
        }
      })
    },
  }
}
