import type { Clock } from '@llmpool/schema'
import type { Lease } from '../types'
import { MemoryLimiter } from './memory-limiter'

/**
 * Several memory limiters acquired all-or-nothing: a request needs capacity in every part (an instance's rpm and
 * concurrency limits). Synchronous, so no other acquisition can come between the check and the take.
 */
export class CompositeMemoryLimiter extends MemoryLimiter {
  readonly kind = 'composite' as const
  private readonly partLeases = new Map<number, Lease[]>()
  private ticket = 0
  private readonly unsubscribe: (() => void)[]
  private readonly maxPartWeight: number

  constructor(
    name: string,
    private readonly parts: MemoryLimiter[],
    clock?: Clock,
  ) {
    super(name, clock)
    if (parts.length === 0) throw new RangeError('a composite limiter needs at least one part')
    this.maxPartWeight = Math.min(...parts.map((part) => part.maxWeight))
    // A part's capacity coming back may let this composite's waiters through.
    this.unsubscribe = parts.map((part) => part.onCapacity(() => this.drain()))
  }

  protected get capacity(): number {
    return this.maxPartWeight
  }

  protected override get reason(): 'rate' | 'concurrency' {
    const now = this.clock.now()
    const short = this.parts.find((part) => part.probe(1, now) > 0)
    return short?.kind === 'concurrency' ? 'concurrency' : 'rate'
  }

  protected check(weight: number, now: number): number {
    let wait = 0
    for (const part of this.parts) wait = Math.max(wait, part.probe(weight, now))
    return wait
  }

  protected commit(weight: number, now: number): number {
    const ticket = ++this.ticket
    this.partLeases.set(
      ticket,
      this.parts.map((part) => part.take(weight, now)),
    )
    return ticket
  }

  protected override onRelease(_weight: number, ticket: number): void {
    const leases = this.partLeases.get(ticket)
    this.partLeases.delete(ticket)
    if (leases) for (const lease of leases) lease.release()
  }

  protected refund(_weight: number, ticket: number): void {
    const leases = this.partLeases.get(ticket)
    this.partLeases.delete(ticket)
    if (leases) for (let i = leases.length - 1; i >= 0; i--) leases[i]!.cancel()
  }

  protected available(now: number): number {
    return Math.min(...this.parts.map((part) => part.state().available), this.check(1, now) === 0 ? Number.POSITIVE_INFINITY : 0)
  }

  protected nextRefill(now: number): number | undefined {
    const wait = this.check(1, now)
    return wait > 0 && Number.isFinite(wait) ? wait : undefined
  }

  override state() {
    return { ...super.state(), parts: this.parts.map((part) => part.state()) }
  }

  override dispose(): void {
    for (const unsubscribe of this.unsubscribe) unsubscribe()
    super.dispose()
  }
}
