import type { ConfigEvent } from '@llmpool/config'
import type { RouterEvent } from '@llmpool/router'
import type { FeedEvent } from './types'

const seconds = (ms: number) => (ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(1)} s`)

/**
 * The event feed: the router's and the configuration store's events that tell an operator why something was slow or
 * failed (fallbacks, retries, hedges, timeouts, breaker trips and recoveries, cooldowns, health, failed requests,
 * reloads), in words, in a ring of the latest `size`. Successful attempts and requests are not events here: the
 * figures count them.
 */
export class EventLog {
  private readonly ring: FeedEvent[] = []
  private seq = 0

  constructor(private readonly size = 500) {}

  /** The number of the latest event; 0 before any. */
  get last(): number {
    return this.seq
  }

  /** Events after `seq`, oldest first (at most the ring's size). */
  since(seq: number): FeedEvent[] {
    if (seq >= this.seq) return []
    const first = this.ring.findIndex((event) => event.seq > seq)
    return first < 0 ? [] : this.ring.slice(first)
  }

  /** Events up to `seq`, the latest `count`, oldest first. */
  upTo(seq: number, count: number): FeedEvent[] {
    const events = this.ring.filter((event) => event.seq <= seq)
    return events.slice(Math.max(0, events.length - count))
  }

  private push(event: Omit<FeedEvent, 'seq'>): void {
    this.ring.push({ seq: ++this.seq, ...event })
    if (this.ring.length > this.size) this.ring.shift()
  }

  /** Feeds one router event; the ones that are not news are dropped at once. */
  recordRouter(event: RouterEvent): void {
    switch (event.type) {
      case 'attempt_end':
        if (!event.ok && event.error?.kind === 'timeout' && !event.cancelled) {
          this.push({
            at: event.at,
            type: 'timeout',
            level: 'warn',
            target: event.target,
            instance: event.instance,
            text: `attempt on ${event.instance} timed out after ${seconds(event.durationMs)}`,
          })
        }
        return
      case 'request_end':
        if (!event.ok) {
          const timeout = event.error === 'request_timeout'
          this.push({
            at: event.at,
            type: timeout ? 'timeout' : 'request_failed',
            level: 'error',
            target: event.target,
            text: timeout
              ? `request to ${event.entry} ran out of time after ${seconds(event.durationMs)} (${event.attempts} attempts)`
              : `request to ${event.entry} failed: ${event.error ?? 'error'} after ${event.attempts} attempts`,
          })
        }
        return
      case 'fallback':
        this.push({
          at: event.at,
          type: 'fallback',
          level: 'warn',
          target: event.target,
          instance: event.from,
          text: `${event.target}: left ${event.from} (${event.kind})${event.toPool ? `, on to pool ${event.toPool}` : ''}`,
        })
        return
      case 'retry':
        this.push({
          at: event.at,
          type: 'retry',
          level: 'warn',
          instance: event.instance,
          text: `retry ${event.retry} of ${event.instance} in ${event.delayMs} ms (${event.kind})`,
        })
        return
      case 'hedge':
        this.push({
          at: event.at,
          type: 'hedge',
          level: 'info',
          target: event.target,
          instance: event.from,
          text: `${event.target}: ${event.from} slower than ${event.afterMs} ms, also calling ${event.to}`,
        })
        return
      case 'breaker_change':
        if (event.to === 'open')
          this.push({
            at: event.at,
            type: 'breaker_open',
            level: 'error',
            instance: event.instance,
            text: `breaker of ${event.instance} opened (${event.reason})`,
          })
        else if (event.to === 'half_open')
          this.push({
            at: event.at,
            type: 'breaker_half_open',
            level: 'info',
            instance: event.instance,
            text: `breaker of ${event.instance} lets a trial call through`,
          })
        else
          this.push({
            at: event.at,
            type: 'breaker_closed',
            level: 'info',
            instance: event.instance,
            text: `breaker of ${event.instance} closed: recovered (${event.reason})`,
          })
        return
      case 'cooldown':
        this.push({
          at: event.at,
          type: 'cooldown',
          level: 'warn',
          instance: event.instance,
          text: `${event.instance} rests ${seconds(event.durationMs)} (${event.kind}: ${event.reason})${event.remote ? ', set by another process' : ''}`,
        })
        return
      case 'health_change':
        this.push({
          at: event.at,
          type: event.healthy ? 'healthy' : 'unhealthy',
          level: event.healthy ? 'info' : 'error',
          instance: event.instance,
          text: event.healthy
            ? `${event.instance} is healthy again (${event.reason})`
            : `${event.instance} marked unhealthy (${event.reason})`,
        })
        return
      case 'rate_limited':
        this.push({
          at: event.at,
          type: 'rate_limited',
          level: 'warn',
          target: event.target,
          text: `${event.target} at its limit: ${event.waiting ? 'waiting' : 'refused'}, capacity in ${seconds(event.retryAfterMs)}`,
        })
        return
      default:
        return
    }
  }

  /** Feeds one configuration store event. */
  recordConfig(event: ConfigEvent, summary: (event: ConfigEvent & { type: 'reload_applied' }) => string): void {
    if (event.type === 'reload_applied') {
      this.push({
        at: event.at,
        type: 'reload_applied',
        level: 'info',
        text: `configuration reloaded (${event.trigger}): ${summary(event)}`,
      })
    } else if (event.type === 'reload_rejected') {
      const first = event.errors[0]
      const more = event.errors.length > 1 ? ` and ${event.errors.length - 1} more` : ''
      this.push({
        at: event.at,
        type: 'reload_rejected',
        level: 'error',
        text: `reload rejected (${event.trigger}), the configuration in force stays: ${first ? `${first.file}${first.line ? `:${first.line}` : ''} ${first.path} ${first.message}` : 'invalid'}${more}`,
      })
    } else if (event.type === 'watch_error') {
      this.push({
        at: event.at,
        type: 'watch_error',
        level: 'error',
        text: `watching the configuration failed: ${event.error instanceof Error ? event.error.message : String(event.error)}`,
      })
    }
  }
}
