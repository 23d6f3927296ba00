import type { RedisConnection } from './connection'
import { PLACE_TTL_MS } from './wait-queue'

type Argument = string | number

/** One operation on a limiter's keys (see `lua/apply.ts`). */
export interface Operation {
  /** `a` acquire, `w` acquire from a place in the queue, `r` release, `x` cancel, `l` leave the queue. */
  readonly op: 'a' | 'w' | 'r' | 'x' | 'l'
  readonly weight: number
  readonly id: string
  /** For `w` and `l`: the place in the limiter's queue. */
  readonly place?: string
  /** For a cancel: what each part needs for an exact refund. */
  readonly tickets?: readonly number[]
  /** For an acquisition: its reply, or why there is none. */
  readonly settle?: (reply: number[] | undefined, error?: unknown) => void
}

/** A limiter as the batch sees it. */
export interface BatchTarget {
  /** One key per part. */
  readonly keys: readonly string[]
  /** The limiter's queue: the sorted set of places and the sorted set of their expiries. */
  readonly queueKeys: readonly [string, string]
  /** Kind and two numbers per part. */
  readonly partArguments: readonly Argument[]
  /** Called after operations that gave capacity back reached Redis. */
  onGivenBack(): void
}

interface Segment {
  readonly target: BatchTarget
  readonly operations: Operation[]
}

/**
 * Collects the operations a backend's callers issue during one tick of the event loop and sends them on
 * `process.nextTick` (after the promise callbacks of the tick have run), in the order they were issued.
 * Consecutive operations on the same limiter share one script call: 64 concurrent acquire-and-release loops on a
 * limiter cost one script run per tick, not 128; auto-pipelining then shares the round trip between limiters.
 */
export class OperationBatch {
  private segments: Segment[] = []

  constructor(private readonly connection: RedisConnection) {}

  add(target: BatchTarget, operation: Operation): void {
    const last = this.segments[this.segments.length - 1]
    if (last?.target === target) {
      last.operations.push(operation)
      return
    }
    if (this.segments.length === 0) process.nextTick(this.flush)
    this.segments.push({ target, operations: [operation] })
  }

  /** Sends what is pending now: before a call that must see it (`state()`). */
  readonly flush = (): void => {
    const segments = this.segments
    if (segments.length === 0) return
    this.segments = []
    for (const segment of segments) this.send(segment)
  }

  private send({ target, operations }: Segment): void {
    const parts = target.keys.length
    const slot = 1 + Math.max(3, parts)
    const args: Argument[] = [operations.length, PLACE_TTL_MS, ...target.partArguments]
    let givesBack = false
    for (const operation of operations) {
      args.push(operation.op, operation.weight, operation.id, operation.place ?? '')
      for (let i = 0; i < parts; i++) args.push(operation.tickets?.[i] ?? 0)
      if (operation.op === 'r' || operation.op === 'x') givesBack = true
    }
    const [queue, expiry] = target.queueKeys
    this.connection
      .run((client) =>
        parts === 1
          ? client.llmpoolLimiterApplyV3(target.keys[0]!, queue, expiry, ...args)
          : client.llmpoolLimiterApplyManyV3(parts + 2, ...target.keys, queue, expiry, ...args),
      )
      .then(
        (reply) => {
          let offset = 0
          for (const operation of operations) {
            if (!operation.settle) continue
            operation.settle(reply.slice(offset, offset + slot))
            offset += slot
          }
          if (givesBack) target.onGivenBack()
        },
        (error: unknown) => {
          // Releases and cancels are lost with the call: concurrency permits expire within the lease ttl (this
          // process stopped renewing them); rate capacity stays taken, as if the call had happened.
          for (const operation of operations) operation.settle?.(undefined, error)
        },
      )
  }
}
