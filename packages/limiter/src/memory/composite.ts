import type { Clock } from '@llmpool/schema'
import { partLimitSpecs } from '../limit-spec'
import type { Lease, LimitSpec } from '../types'
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

  constructor(
    name: string,
    private readonly parts: MemoryLimiter[],
    clock?: Clock,
  ) {
    super(name, clock)
    if (parts.length === 0) throw new RangeError('a composite limiter needs at least one part')
    // A part's capacity coming back may let this composite's waiters through.
    this.unsubscribe = parts.map((part) => part.onCapacity(() => this.drain()))
  }

  /** The smallest part's capacity, as it is now (a part may be reconfigured). */
  protected get capacity(): number {
    let capacity = Number.POSITIVE_INFINITY
    for (const part of this.parts) capacity = Math.min(capacity, part.maxWeight)
    return capacity
  }

  /** One spec per part, in the parts' order; all checked before any part changes. */
  reconfigure(limits: LimitSpec | readonly LimitSpec[]): boolean {
    const specs = partLimitSpecs(
      limits,
      this.parts.map((part) => part.kind),
    )
    if (!specs) return false
    this.parts.forEach((part, i) => part.reconfigure(specs[i]!))
    this.reconfigured()
    return true
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
    return Math.min(
      ...this.parts.map((part) => part.state().available),
      this.check(1, now) === 0 ? Number.POSITIVE_INFINITY : 0,
    )
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
