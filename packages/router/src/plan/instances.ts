import { createHash } from 'node:crypto'
import type { ResolvedConfig } from '@llmpool/config'
import type { LimitSpec } from '@llmpool/limiter'
import type { Echelon, TaskGroup } from '@llmpool/schema'
import { HEALTH_DEFAULTS, RPM_WINDOW_MS } from './defaults'
import { sourceOf } from './sources'
import type { InstancePlan, Source } from './types'

type HealthPlan = InstancePlan['health']

/** A group's echelons by priority (then file order), as `[name, echelon]`. */
export function echelonsByPriority(group: TaskGroup): [string, Echelon][] {
  return Object.entries(group.echelons)
    .map((entry, index) => ({ entry, index }))
    .sort((a, b) => (a.entry[1].priority ?? 0) - (b.entry[1].priority ?? 0) || a.index - b.index)
    .map(({ entry }) => entry)
}

/** Of all pools containing a group: probe as often, react as early and rest as long as the strictest asks. */
function healthOfGroups(config: ResolvedConfig): Map<string, { health: HealthPlan; source: Source }> {
  const result = new Map<string, { health: HealthPlan; pools: string[] }>()
  for (const [name, pool] of Object.entries(config.pools)) {
    const check = pool.health_check
    for (const group of pool.task_groups) {
      const previous = result.get(group)
      result.set(group, {
        health: {
          failureThreshold: Math.min(
            previous?.health.failureThreshold ?? Number.POSITIVE_INFINITY,
            check.failure_threshold,
          ),
          recoveryTimeMs: Math.max(previous?.health.recoveryTimeMs ?? 0, check.recovery_time * 1000),
          intervalMs: Math.min(previous?.health.intervalMs ?? Number.POSITIVE_INFINITY, check.interval * 1000),
        },
        pools: [...(previous?.pools ?? []), name],
      })
    }
  }
  return new Map(
    [...result].map(([group, { health, pools }]) => [
      group,
      {
        health,
        source: `[pool.health_check] of ${pools.map((pool) => config.source.files.pools[pool] ?? pool).join(', ')} (the strictest)`,
      },
    ]),
  )
}

const digest = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 16)
const empty = (value: string | undefined) => (value === undefined || value === '' ? undefined : value)

/**
 * Every instance of every enabled task group: one per model of each echelon, or one per model and key when the
 * echelon lists `api_keys`. A model listed twice in one echelon (with the same key) is one instance.
 */
export function compileInstances(config: ResolvedConfig): Map<string, InstancePlan> {
  const health = healthOfGroups(config)
  const instances = new Map<string, InstancePlan>()
  for (const [groupName, group] of Object.entries(config.task_groups)) {
    const file = config.source.files.task_groups[groupName] ?? groupName
    const groupHealth = health.get(groupName) ?? {
      health: {
        failureThreshold: HEALTH_DEFAULTS.failure_threshold,
        recoveryTimeMs: HEALTH_DEFAULTS.recovery_time * 1000,
        intervalMs: undefined,
      },
      source: 'built-in default (no pool contains the group: no active probe)',
    }
    const breaker = {
      failureThreshold: group.circuit_breaker.failure_threshold,
      recoveryTimeMs: group.circuit_breaker.recovery_time * 1000,
      halfOpenRequests: group.circuit_breaker.half_open_requests,
    }
    const cooldown = { defaultMs: group.cooldown.default_time * 1000, maxMs: group.cooldown.max_time * 1000 }
    const cooldownSource = `${sourceOf(config, 'task_group', groupName, ['cooldown', 'default_time'], 'task_group.cooldown.default_time')}; ${sourceOf(config, 'task_group', groupName, ['cooldown', 'max_time'], 'max_time')}`
    const breakerSource = sourceOf(
      config,
      'task_group',
      groupName,
      ['circuit_breaker', 'failure_threshold'],
      'task_group.circuit_breaker',
    )
    for (const [echelonName, echelon] of echelonsByPriority(group)) {
      const echelonSource = (key: string) =>
        sourceOf(
          config,
          'task_group',
          groupName,
          ['echelons', echelonName, key],
          `task_group.echelons.${echelonName}.${key}`,
        )
      const limits: LimitSpec[] = []
      if (echelon.rpm_limit !== undefined)
        limits.push({ kind: 'sliding_window', windowMs: RPM_WINDOW_MS, limit: echelon.rpm_limit })
      if (echelon.concurrency_limit !== undefined)
        limits.push({ kind: 'concurrency', limit: echelon.concurrency_limit })
      const keys: (string | undefined)[] =
        echelon.api_keys && echelon.api_keys.length > 0 ? [...echelon.api_keys] : [empty(echelon.api_key)]
      const rotating = echelon.api_keys !== undefined && echelon.api_keys.length > 0
      const baseURL = empty(echelon.base_url)
      for (const model of echelon.models) {
        const colon = model.indexOf(':')
        keys.forEach((apiKey, index) => {
          const key = `${groupName}.${echelonName}/${model}${rotating ? `#${index + 1}` : ''}`
          if (instances.has(key)) return
          const identity = [
            groupName,
            echelonName,
            model,
            apiKey === undefined ? '' : digest(apiKey),
            baseURL ?? '',
          ].join('|')
          instances.set(key, {
            key,
            identity,
            shareKey: `${key}~${digest(identity).slice(0, 12)}`,
            group: groupName,
            echelon: echelonName,
            model,
            provider: model.slice(0, colon),
            modelId: model.slice(colon + 1),
            keyIndex: rotating ? index + 1 : undefined,
            apiKey,
            baseURL,
            priority: echelon.priority ?? 1,
            temperature: echelon.temperature,
            maxTokens: echelon.max_tokens,
            limits,
            breaker,
            health: groupHealth.health,
            cooldown,
            sources: {
              limits:
                limits.length > 0
                  ? [
                      echelon.rpm_limit !== undefined ? echelonSource('rpm_limit') : '',
                      echelon.concurrency_limit !== undefined ? echelonSource('concurrency_limit') : '',
                    ]
                      .filter(Boolean)
                      .join('; ') + ` (per instance${rotating ? ', per key' : ''})`
                  : 'none set',
              breaker: breakerSource,
              health: groupHealth.source,
              cooldown: cooldownSource,
              apiKey: rotating
                ? `${echelonSource('api_keys')}[${index}]`
                : apiKey === undefined
                  ? "the provider's default (its environment variable)"
                  : echelonSource('api_key'),
              baseURL:
                baseURL === undefined
                  ? "the provider's default (OPENAI_BASE_URL / ANTHROPIC_BASE_URL, else the public API)"
                  : echelonSource('base_url'),
            },
          })
        })
      }
    }
  }
  return instances
}

/** The instance keys of one echelon, in order. */
export function instancesOfEchelon(instances: ReadonlyMap<string, InstancePlan>): Map<string, string[]> {
  const result = new Map<string, string[]>()
  for (const instance of instances.values()) {
    const label = `${instance.group}.${instance.echelon}`
    const list = result.get(label)
    if (list) list.push(instance.key)
    else result.set(label, [instance.key])
  }
  return result
}
