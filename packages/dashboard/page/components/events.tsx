import { useMemo, useState } from 'preact/hooks'
import type { FeedEvent } from '../../src/types'
import { clockTime } from '../format'
import { type FilterTarget, matches } from '../model'
import { LevelBadge } from './status'

const SHOWN = 200
const KIND_ORDER: [FilterTarget['kind'], string][] = [
  ['wrapper', 'Wrappers'],
  ['pool', 'Pools'],
  ['task_group', 'Task groups'],
  ['echelon', 'Echelons'],
  ['instance', 'Instances'],
]

/** Fallbacks, retries, breaker trips and recoveries, cooldowns, timeouts, reloads: newest first, filterable by target. */
export function EventFeed({ events, targets }: { events: FeedEvent[]; targets: FilterTarget[] }) {
  const [filter, setFilter] = useState('')
  const [problemsOnly, setProblemsOnly] = useState(false)
  const target = targets.find((entry) => entry.name === filter)
  const shown = useMemo(() => {
    const list: FeedEvent[] = []
    for (let index = events.length - 1; index >= 0 && list.length < SHOWN; index--) {
      const event = events[index]!
      if (problemsOnly && event.level === 'info') continue
      if (matches(event, target)) list.push(event)
    }
    return list
  }, [events, target, problemsOnly])
  return (
    <section class="panel events" aria-labelledby="events-title">
      <div class="panel-head">
        <h2 id="events-title">Events</h2>
        <label class="control">
          <span>Target</span>
          <select value={filter} onChange={(event) => setFilter(event.currentTarget.value)}>
            <option value="">all targets</option>
            {KIND_ORDER.map(([kind, label]) => {
              const options = targets.filter((entry) => entry.kind === kind)
              return options.length === 0 ? null : (
                <optgroup key={kind} label={label}>
                  {options.map((entry) => (
                    <option key={entry.name} value={entry.name}>
                      {entry.name}
                    </option>
                  ))}
                </optgroup>
              )
            })}
          </select>
        </label>
        <label class="control">
          <input
            type="checkbox"
            checked={problemsOnly}
            onChange={(event) => setProblemsOnly(event.currentTarget.checked)}
          />
          <span>warnings and errors only</span>
        </label>
      </div>
      {shown.length === 0 ? (
        <p class="hint">
          {events.length === 0
            ? 'Nothing happened yet: no fallback, retry, trip, cooldown, timeout or reload.'
            : 'No event of this target.'}
        </p>
      ) : (
        <ol class="event-list" aria-label="Events, newest first">
          {shown.map((event) => (
            <li key={event.seq} class={`event event-${event.level}`} data-type={event.type}>
              <time dateTime={new Date(event.at).toISOString()}>{clockTime(event.at)}</time>
              <span>
                <LevelBadge event={event} /> <span class="event-text">{event.text}</span>
              </span>
            </li>
          ))}
        </ol>
      )}
    </section>
  )
}
