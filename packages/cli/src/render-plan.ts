import type { CandidateJSON, EntryJSON as EntryView, InstanceJSON as InstanceView } from '@llmpool/router'

/** `61 s`, `250 ms`, `1.5 s`. */
export function duration(ms: number | undefined): string {
  if (ms === undefined) return '—'
  if (ms < 1000) return `${ms} ms`
  const seconds = ms / 1000
  return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)} s`
}

const row = (label: string, value: string, source: string) => `  ${label.padEnd(17)} ${value.padEnd(36)}  ${source}`

function cooldownText(instance: InstanceView): string {
  const { defaultMs, maxMs } = instance.cooldown.value
  return `429/529: the upstream's retry time (at most ${duration(maxMs)}), else ${duration(defaultMs)}; refused key or quota: ${duration(maxMs)}`
}

/**
 * One entry's plan, for a person: what the request may take (deadline, calls), how it retries, and its chain —
 * every instance in order with its attempt timeout and the calls it may get — each value with where it comes from.
 */
export function renderEntryPlan(entry: EntryView, instances: ReadonlyMap<string, InstanceView>): string[] {
  const lines: string[] = []
  const kind = entry.kind === 'wrapper' ? 'wrapper' : entry.kind === 'pool' ? 'pool' : 'task group'
  const target =
    entry.kind === 'wrapper' ? ` → ${entry.chain[0]?.kind === 'pool' ? 'pool' : 'task group'} ${entry.target}` : ''
  lines.push(
    `${kind} ${entry.name}${target}${entry.file ? `   [global] of ${entry.file}` : '   (called by its own name: built-in defaults)'}`,
  )
  lines.push(row('request deadline', duration(entry.requestTimeoutMs.value), entry.requestTimeoutMs.source))
  lines.push(row('calls at most', String(entry.maxCalls.value), entry.maxCalls.source))
  lines.push(row('retried on', entry.retry.retryOn.value.join(', ') || '(nothing)', entry.retry.retryOn.source))
  lines.push(
    row(
      'backoff',
      `${duration(entry.retry.baseDelayMs.value)} × ${entry.retry.backoffFactor.value}, ≤ ${duration(entry.retry.maxRetryDelayMs.value)}`,
      entry.retry.maxRetryDelayMs.source,
    ),
  )
  lines.push(
    row(
      'cache',
      entry.cache.value ? `${entry.cache.value.maxSize} entries, ${duration(entry.cache.value.ttlMs)}` : 'off',
      entry.cache.source,
    ),
  )
  if (entry.tools.value)
    lines.push(
      row(
        'tools',
        `${entry.tools.value.enabled ? 'allowed' : 'refused'}, ${entry.tools.value.selection}`,
        entry.tools.source,
      ),
    )
  lines.push('  chain (in order):')
  const groups = new Set<string>()
  let position = 0
  for (const stage of entry.chain) {
    if (stage.kind === 'pool') {
      lines.push(
        `    pool ${stage.stage}: ${stage.strategy.value}, tries ${stage.maxInstances.value} instance${stage.maxInstances.value === 1 ? '' : 's'}${stage.hedgeAfterMs.value !== undefined ? `, hedges after ${duration(stage.hedgeAfterMs.value)}` : ''}   (${stage.maxInstances.source})`,
      )
      stage.tiers.forEach((tier, index) => {
        lines.push(`      tier ${index + 1}`)
        for (const candidate of tier as CandidateJSON[])
          lines.push(candidateLine(++position, candidate, instances, groups, candidate.weight))
      })
    } else {
      lines.push(
        `    task group ${stage.stage}: tries ${stage.maxInstances.value} instance${stage.maxInstances.value === 1 ? '' : 's'}, ${duration(stage.stepDelayMs.value)} between echelons${stage.hedgeAfterMs.value !== undefined ? `, hedges after ${duration(stage.hedgeAfterMs.value)}` : ''}   (${stage.maxInstances.source})`,
      )
      for (const step of stage.steps) {
        lines.push(`      ${step.label}`)
        for (const candidate of step.candidates) lines.push(candidateLine(++position, candidate, instances, groups))
      }
    }
  }
  lines.push('  cooldown rules:')
  for (const group of groups) {
    const instance = [...instances.values()].find((candidate) => candidate.group === group)
    if (instance) lines.push(`    ${group}: ${cooldownText(instance)}   (${instance.cooldown.source})`)
  }
  return lines
}

function candidateLine(
  position: number,
  candidate: CandidateJSON,
  instances: ReadonlyMap<string, InstanceView>,
  groups: Set<string>,
  weight?: number,
): string {
  const instance = instances.get(candidate.instance)
  if (instance) groups.add(instance.group)
  const calls = candidate.attemptsAtMost === 1 ? '1 call' : `up to ${candidate.attemptsAtMost} calls`
  const weighted = weight !== undefined ? `, weight ${Number(weight.toFixed(3))}` : ''
  return `        ${String(position).padStart(2)}. ${candidate.instance.padEnd(48)} ${duration(candidate.attemptTimeoutMs.value)} per attempt (${candidate.attemptTimeoutMs.source}), ${calls} (max_retries ${candidate.maxRetries.value}: ${candidate.maxRetries.source})${weighted}`
}
