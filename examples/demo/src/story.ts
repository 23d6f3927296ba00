import { quantile } from './report'
import { modelOf, type Tally } from './tally'

/** Failures that mean "not now" rather than "broken": the upstream asks the caller to come back later. */
const NOT_NOW = new Set(['rate_limit', 'overloaded'])

interface ModelFigures {
  calls: number
  /** Failed calls other than "not now", and by cause. */
  broken: number
  brokenCauses: Map<string, number>
  /** Failed calls that were 429s and 529s, and by cause. */
  notNow: number
  notNowCauses: Map<string, number>
  /** Failed calls by kind. */
  kinds: Map<string, number>
  trips: number
  unhealthy: number
  cooldowns: number
  restMs: number[]
  retryWaitsMs: number[]
}

const add = (map: Map<string, number>, key: string, count: number) => map.set(key, (map.get(key) ?? 0) + count)
const top = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1])[0]?.[0] ?? ''
const times = (count: number) => (count === 1 ? 'once' : count === 2 ? 'twice' : `${count} times`)
const seconds = (ms: number) => `${Number((ms / 1000).toFixed(1))} s`
const duration = (ms: number) => (ms >= 1000 ? seconds(ms) : `${Math.round(ms)} ms`)

/** The instances' figures added up per model (`gpt-4o` is an instance in several task groups). */
function byModel(tally: Tally): Map<string, ModelFigures> {
  const models = new Map<string, ModelFigures>()
  for (const [instance, state] of tally.instances) {
    const model = modelOf(instance)
    let figures = models.get(model)
    if (!figures) {
      figures = {
        calls: 0,
        broken: 0,
        brokenCauses: new Map(),
        notNow: 0,
        notNowCauses: new Map(),
        kinds: new Map(),
        trips: 0,
        unhealthy: 0,
        cooldowns: 0,
        restMs: [],
        retryWaitsMs: [],
      }
      models.set(model, figures)
    }
    figures.calls += state.calls
    figures.trips += state.trips
    figures.unhealthy += state.unhealthy
    figures.cooldowns += state.cooldowns
    figures.restMs.push(...state.restMs)
    figures.retryWaitsMs.push(...state.retryWaitsMs)
    for (const [kind, count] of state.kinds) {
      add(figures.kinds, kind, count)
      if (NOT_NOW.has(kind)) figures.notNow += count
      else figures.broken += count
    }
    for (const [cause, count] of state.causes)
      add(NOT_NOW.has(state.causeKinds.get(cause)!) ? figures.notNowCauses : figures.brokenCauses, cause, count)
  }
  return models
}

/** `claude-3-5-sonnet (9) and gpt-4o-mini (4)`: who answered the requests a model had failed. */
function answeredBy(tally: Tally, model: string): string {
  const others = [...(tally.answeredInstead.get(model) ?? [])].sort((a, b) => b[1] - a[1])
  if (others.length === 0) return 'no other model answered those requests'
  const named = others.slice(0, 3).map(([other, count]) => `${other} (${count})`)
  const rest = others.length > 3 ? ` and ${others.length - 3} more` : ''
  return `the router answered those requests with ${named.length > 1 ? `${named.slice(0, -1).join(', ')} and ${named.at(-1)}` : named[0]}${rest}`
}

/**
 * Three plain sentences from the figures: which models failed and what the router did (breakers, health, where the
 * requests went), which were rate-limited and how they rested, and how the requests came out.
 */
export function story(tally: Tally, elapsedSeconds: number): [string, string, string] {
  const models = byModel(tally)
  return [failedModels(tally, models), rateLimitedModels(tally, models), outcome(tally, elapsedSeconds)]
}

/** Models with failed calls other than "not now": how many, why, and what the router did about them. */
function failedModels(tally: Tally, models: Map<string, ModelFigures>): string {
  const broken = [...models].filter(([, figures]) => figures.broken > 0).sort((a, b) => b[1].broken - a[1].broken)
  if (broken.length === 0) return 'No model failed a call.'
  const clauses = broken.slice(0, 3).map(([model, figures]) => {
    const share = Math.round((figures.broken / figures.calls) * 100)
    const actions = [
      figures.trips > 0 ? `its breaker${figures.trips > 1 ? 's' : ''} opened ${times(figures.trips)}` : '',
      figures.unhealthy > 0 ? `it was marked unhealthy ${times(figures.unhealthy)}` : '',
      // A refused key rests the instance too; a 429 or 529 is the next sentence's.
      figures.notNow === 0 && figures.cooldowns > 0 ? `it was put to rest ${times(figures.cooldowns)}` : '',
    ].filter(Boolean)
    const did = actions.length > 1 ? `${actions.slice(0, -1).join(', ')} and ${actions.at(-1)}` : actions[0]
    return `${model} failed ${share} % of its ${figures.calls} calls (${inline(top(figures.brokenCauses))})${did ? `; ${did}` : ''}; ${answeredBy(tally, model)}`
  })
  // Three models at most: past that, the sentence would be a table, and "why calls failed" is one.
  const more =
    broken.length > 3
      ? ` ${broken.length - 3} more model${broken.length === 4 ? '' : 's'} failed too: see "why calls failed".`
      : ''
  return `${clauses.join('. ')}.${more}`
}

/** Models that said "not now" (429, 529): how often, how long they rested, who waited and where the rest went. */
function rateLimitedModels(tally: Tally, models: Map<string, ModelFigures>): string {
  const limited = [...models].filter(([, figures]) => figures.notNow > 0).sort((a, b) => b[1].notNow - a[1].notNow)
  const capacity =
    tally.waited > 0 ? ` ${tally.waited} request${tally.waited === 1 ? '' : 's'} waited for capacity.` : ''
  if (limited.length === 0) return `No model was rate-limited.${capacity}`
  const clauses = limited.slice(0, 3).map(([model, figures]) => {
    const how =
      (figures.kinds.get('overloaded') ?? 0) > (figures.kinds.get('rate_limit') ?? 0) ? 'overloaded' : 'rate-limited'
    const rested =
      figures.restMs.length === 0 ? '' : ` and rested ${times(figures.restMs.length)} for ${span(figures.restMs)}`
    const waits = figures.retryWaitsMs
    const waited =
      waits.length === 0
        ? ''
        : `; ${waits.length} request${waits.length === 1 ? '' : 's'} waited ${span(waits)} to call it again`
    // The cause without its hint: the sentence says "rate-limited" already.
    const cause = top(figures.notNowCauses).replace(/ \([^()]*\)$/, '')
    return `${model} was ${how} on ${figures.notNow} of its ${figures.calls} calls (${cause})${rested}${waited}; ${answeredBy(tally, model)}`
  })
  const more =
    limited.length > 3
      ? ` ${limited.length - 3} more model${limited.length === 4 ? ' was' : 's were'} rate-limited too.`
      : ''
  const retryWaits = limited.reduce((sum, [, figures]) => sum + figures.retryWaitsMs.length, 0)
  const atOnce =
    retryWaits === 0 && tally.waited === 0
      ? ' No request waited: each went on at once to an instance that could take it.'
      : capacity
  return `${clauses.join('. ')}.${more}${atOnce}`
}

/** How the requests came out, how long it took, and what hedging did. */
function outcome(tally: Tally, elapsedSeconds: number): string {
  const targets = [...tally.targets.values()]
  const requests = targets.reduce((sum, target) => sum + target.requests, 0)
  const answered = targets.reduce((sum, target) => sum + target.ok, 0)
  const latencies = targets.flatMap((target) => target.latencies)
  const timing = `in ${elapsedSeconds.toFixed(1)} s (p50 ${duration(quantile(latencies, 0.5) ?? 0)}, p99 ${duration(quantile(latencies, 0.99) ?? 0)})`
  const failures = [...tally.requestFailures].map(([code, count]) => `${code}: ${count}`).join(', ')
  const result =
    answered === requests
      ? `Every one of the ${requests} requests was answered, ${timing}.`
      : `${answered} of ${requests} requests were answered, ${timing}; ${requests - answered} failed (${failures}): see "why calls failed".`
  if (tally.hedged.size === 0) return result
  const hedges = [...tally.hedged].map(
    ([model, { count, afterMs }]) =>
      `${model} was slow, so ${count} of its calls got a hedge (a second call) after ${duration(afterMs)}`,
  )
  const wins = [...tally.instances.values()].reduce((sum, state) => sum + state.hedgeWins, 0)
  return `${result} ${hedges.join('; ')}; the hedge answered first ${times(wins)}.`
}

/** `401 from openai (key refused)` → `401 from openai, key refused`: no parentheses inside the sentence's own. */
const inline = (cause: string) => cause.replace(/ \(([^()]*)\)$/, ', $1')

/** `5 s`, or `1 s to 5 s` when they differ. */
function span(values: number[]): string {
  const low = Math.min(...values)
  const high = Math.max(...values)
  return duration(low) === duration(high) ? duration(low) : `${duration(low)} to ${duration(high)}`
}
