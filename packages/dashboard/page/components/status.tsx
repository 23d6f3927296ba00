import type { FeedEvent, InstanceView } from '../../src/types'
import { duration } from '../format'

/** Each state has a shape and a word as well as a color, so that it reads without color too. */
const STATUS: Record<InstanceView['status'], { shape: string; word: string }> = {
  ok: { shape: '●', word: 'OK' },
  half_open: { shape: '◐', word: 'Trial' },
  open: { shape: '■', word: 'Open' },
  unhealthy: { shape: '▲', word: 'Unhealthy' },
  cooldown: { shape: '◆', word: 'Cooldown' },
  draining: { shape: '○', word: 'Draining' },
}

/** The time that matters for a state: to the breaker's next trial, to the end of a cooldown or of an unhealthy spell. */
export function statusTime(instance: InstanceView): string | undefined {
  if (instance.status === 'open' && instance.breaker.nextTrialInMs !== undefined)
    return `trial in ${duration(instance.breaker.nextTrialInMs)}`
  if (instance.status === 'cooldown' && instance.cooldown) return `${duration(instance.cooldown.remainingMs)} left`
  if (instance.status === 'unhealthy' && instance.health.retryAfterMs > 0)
    return `retry in ${duration(instance.health.retryAfterMs)}`
  return undefined
}

/** The same, short enough for a badge in a row: `trial 31 s`, `29 s` (cooldown or unhealthy left). */
function badgeTime(instance: InstanceView): string | undefined {
  const seconds = (ms: number) => `${Math.ceil(ms / 1000)} s`
  if (instance.status === 'open' && instance.breaker.nextTrialInMs !== undefined)
    return `trial ${seconds(instance.breaker.nextTrialInMs)}`
  if (instance.status === 'cooldown' && instance.cooldown) return seconds(instance.cooldown.remainingMs)
  if (instance.status === 'unhealthy' && instance.health.retryAfterMs > 0) return seconds(instance.health.retryAfterMs)
  return undefined
}

export function StatusBadge({ instance }: { instance: InstanceView | undefined }) {
  if (!instance) return <span class="badge status-unknown">? No data</span>
  const { shape, word } = STATUS[instance.status]
  const time = badgeTime(instance)
  return (
    <span class={`badge status-${instance.status}`} data-status={instance.status} title={statusTime(instance)}>
      <span aria-hidden="true">{shape}</span> {word}
      {time ? <span class="badge-time"> · {time}</span> : null}
    </span>
  )
}

const LEVEL: Record<FeedEvent['level'], string> = { info: 'ℹ', warn: '⚠', error: '✖' }

/** `fallback`, `breaker_open` → `fallback`, `breaker open`. */
export const eventWord = (type: FeedEvent['type']) => type.replace(/_/g, ' ')

export function LevelBadge({ event }: { event: FeedEvent }) {
  return (
    <span class={`badge level-${event.level}`}>
      <span aria-hidden="true">{LEVEL[event.level]}</span> {eventWord(event.type)}
    </span>
  )
}
