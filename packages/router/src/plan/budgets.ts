import { DEADLINE_MARGIN_MS } from './defaults'
import type { CandidatePlan, RoutePlan } from './types'

/** The `count` largest values of `values`, summed. */
function sumOfLargest(values: number[], count: number): number {
  return values
    .sort((a, b) => b - a)
    .slice(0, count)
    .reduce((sum, value) => sum + value, 0)
}

/** Every candidate of a route, stage by stage (a task group is one stage). */
function stages(
  route: RoutePlan,
): { candidates: CandidatePlan[]; maxInstances: number; stepDelayMs: number; steps: number }[] {
  if (route.kind === 'task_group') {
    return [
      {
        candidates: route.steps.flatMap((step) => step.candidates),
        maxInstances: route.maxInstances,
        stepDelayMs: route.stepDelayMs,
        steps: route.steps.length,
      },
    ]
  }
  return route.stages.map((stage) => ({
    candidates: stage.tiers.flat(),
    maxInstances: stage.maxInstances,
    stepDelayMs: 0,
    steps: 1,
  }))
}

/**
 * The default deadline of a request: room to walk the chain once — each stage may try `maxInstances` instances, each
 * for its attempt timeout (the longest ones are counted), with the pauses between echelons — plus a margin.
 * A timed-out instance is not retried while another is admitted, so retries need no room of their own; a request
 * that has to retry a lone instance is bounded by this deadline.
 */
export function walkDeadlineMs(route: RoutePlan): number {
  let total = DEADLINE_MARGIN_MS
  for (const stage of stages(route)) {
    const tried = Math.min(stage.maxInstances, stage.candidates.length)
    total += sumOfLargest(
      stage.candidates.map((candidate) => candidate.attemptTimeoutMs),
      tried,
    )
    total += Math.max(0, Math.min(tried, stage.steps) - 1) * stage.stepDelayMs
  }
  return total
}

/**
 * The most upstream calls the rules allow one request: in each stage, `maxInstances` instances, each called once and
 * retried up to its `maxRetries` (the costliest ones counted). The default of the safety cap: it never cuts a walk
 * the configuration allows, and stops anything that would go past it.
 */
export function walkCalls(route: RoutePlan): number {
  let total = 0
  for (const stage of stages(route)) {
    total += sumOfLargest(
      stage.candidates.map((candidate) => 1 + candidate.maxRetries),
      Math.min(stage.maxInstances, stage.candidates.length),
    )
  }
  return Math.max(1, total)
}
