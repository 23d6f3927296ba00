import { redactUrl } from '@llmpool/config'
import type { CandidatePlan, EntryPlan, InstancePlan, RoutingPlan } from './types'

/** A value and where it comes from. */
export interface Sourced<T> {
  value: T
  source: string
}

const sourced = <T>(value: T, source: string | undefined): Sourced<T> => ({ value, source: source ?? '' })

function candidateJSON(candidate: CandidatePlan) {
  return {
    instance: candidate.instance,
    attemptTimeoutMs: sourced(candidate.attemptTimeoutMs, candidate.sources.attemptTimeoutMs),
    firstTokenTimeoutMs: sourced(candidate.firstTokenTimeoutMs, candidate.sources.firstTokenTimeoutMs),
    maxRetries: sourced(candidate.maxRetries, candidate.sources.maxRetries),
    attemptsAtMost: 1 + candidate.maxRetries,
  }
}

/** An instance without its key (a secret): which key it uses is its position (`keyIndex`), and the key's source. */
export function instanceJSON(instance: InstancePlan) {
  return {
    key: instance.key,
    group: instance.group,
    echelon: instance.echelon,
    model: instance.model,
    keyIndex: instance.keyIndex,
    apiKey: sourced(instance.apiKey === undefined ? undefined : '[redacted]', instance.sources.apiKey),
    baseURL: sourced(
      instance.baseURL === undefined ? undefined : redactUrl(instance.baseURL),
      instance.sources.baseURL,
    ),
    priority: instance.priority,
    limits: sourced(instance.limits, instance.sources.limits),
    breaker: sourced(instance.breaker, instance.sources.breaker),
    health: sourced(instance.health, instance.sources.health),
    cooldown: sourced(instance.cooldown, instance.sources.cooldown),
  }
}

/** One entry's plan as JSON: its chain in order, its budgets and settings, each value with its source. */
export function entryJSON(entry: EntryPlan) {
  const { route, sources } = entry
  const chain =
    route.kind === 'task_group'
      ? [
          {
            stage: route.group,
            kind: 'task_group' as const,
            maxInstances: sourced(route.maxInstances, route.sources.maxInstances),
            stepDelayMs: sourced(route.stepDelayMs, route.sources.stepDelayMs),
            hedgeAfterMs: sourced(route.hedgeAfterMs, route.sources.hedgeAfterMs),
            order: route.sources.steps,
            steps: route.steps.map((step) => ({ label: step.label, candidates: step.candidates.map(candidateJSON) })),
          },
        ]
      : route.stages.map((stage) => ({
          stage: stage.pool,
          kind: 'pool' as const,
          strategy: sourced(stage.strategy, stage.sources.strategy),
          maxInstances: sourced(stage.maxInstances, stage.sources.maxInstances),
          hedgeAfterMs: sourced(stage.hedgeAfterMs, stage.sources.hedgeAfterMs),
          order: stage.sources.tiers,
          tiers: stage.tiers.map((tier) =>
            tier.map((candidate) =>
              stage.strategy === 'weighted'
                ? { ...candidateJSON(candidate), weight: stage.weights.get(candidate.instance) }
                : candidateJSON(candidate),
            ),
          ),
        }))
  return {
    name: entry.name,
    kind: entry.kind,
    target: entry.target,
    file: entry.file,
    requestTimeoutMs: sourced(entry.requestTimeoutMs, sources.requestTimeoutMs),
    maxCalls: sourced(entry.maxCalls, sources.maxCalls),
    retry: {
      retryOn: sourced(entry.retry.retryOn, sources.retryOn),
      baseDelayMs: sourced(entry.retry.baseDelayMs, sources.baseDelayMs),
      backoffFactor: sourced(entry.retry.backoffFactor, sources.backoffFactor),
      maxRetryDelayMs: sourced(entry.retry.maxRetryDelayMs, sources.maxRetryDelayMs),
    },
    cache: sourced(entry.services.cache, sources.cache),
    logging: sourced(entry.services.logging, sources.logging),
    tools: sourced(entry.services.tools, sources.tools),
    chain,
  }
}

export type CandidateJSON = ReturnType<typeof candidateJSON> & { weight?: number }
export type InstanceJSON = ReturnType<typeof instanceJSON>
export type EntryJSON = ReturnType<typeof entryJSON>

/** The whole plan as JSON (no secrets): every entry, and the instances they name. */
export function planToJSON(plan: RoutingPlan, names?: readonly string[]) {
  const entries = [...plan.entries.values()].filter((entry) => !names || names.includes(entry.name))
  const used = new Set<string>()
  for (const entry of entries) {
    const lists =
      entry.route.kind === 'task_group'
        ? entry.route.steps.map((step) => step.candidates)
        : entry.route.stages.flatMap((stage) => stage.tiers)
    for (const list of lists) for (const candidate of list) used.add(candidate.instance)
  }
  return {
    entries: entries.map(entryJSON),
    instances: [...plan.instances.values()].filter((instance) => used.has(instance.key)).map(instanceJSON),
  }
}
