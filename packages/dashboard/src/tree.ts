import type { CandidatePlan, EntryPlan, RoutingPlan } from '@llmpool/router'
import type { TreeNode } from './types'

/**
 * The targets as the page draws them, from the routing plan: each wrapper holds the pool or task group it calls;
 * a pool holds its tiers, a tier its `group.echelon`s, an echelon its instances; a task group holds its echelons.
 * Pools that no wrapper calls stand at the top next to the wrappers, and so do task groups that no wrapper calls and
 * no pool above holds: each instance shows once under every wrapper or pool that reaches it, and at least once. Instances with rotating keys
 * (`model#1`, `model#2`) sit under one `model` node, one node per key. Names only: the plan's keys are never read.
 */
export function buildTree(plan: RoutingPlan): TreeNode[] {
  const entries = [...plan.entries.values()]
  const called = new Set(entries.filter((entry) => entry.kind === 'wrapper').map((entry) => entry.target))
  const nodes: TreeNode[] = []
  for (const entry of entries) {
    if (entry.kind === 'wrapper') {
      nodes.push({
        kind: 'wrapper',
        name: entry.name,
        label: entry.name,
        detail: `→ ${entry.target}`,
        children: [targetNode(plan, entry)],
      })
    }
  }
  // Then the pools no wrapper calls, then the task groups that neither a wrapper nor a pool shown above holds.
  for (const entry of entries) {
    if (entry.kind === 'pool' && !called.has(entry.name)) nodes.push(targetNode(plan, entry))
  }
  const shown = new Set<string>()
  for (const entry of entries) {
    if (entry.route.kind === 'pool' && (entry.kind === 'wrapper' || !called.has(entry.name)))
      for (const tier of entry.route.stages[0]?.tiers ?? [])
        for (const candidate of tier) shown.add(plan.instances.get(candidate.instance)?.group ?? '')
  }
  for (const entry of entries) {
    if (entry.kind === 'task_group' && !called.has(entry.name) && !shown.has(entry.name))
      nodes.push(targetNode(plan, entry))
  }
  return nodes
}

function targetNode(plan: RoutingPlan, entry: EntryPlan): TreeNode {
  const { route } = entry
  if (route.kind === 'task_group') {
    return {
      kind: 'task_group',
      name: route.group,
      label: route.group,
      children: route.steps.map((step) => echelonNode(plan, step.label, step.candidates)),
    }
  }
  const [own, ...fallbacks] = route.stages
  const children: TreeNode[] = (own?.tiers ?? []).map((tier, index) => ({
    kind: 'tier',
    name: `${own!.pool} tier ${index + 1}`,
    label: `tier ${index + 1}`,
    children: byEchelon(tier).map(([label, candidates]) => echelonNode(plan, label, candidates)),
  }))
  for (const stage of fallbacks)
    children.push({ kind: 'fallback_pool', name: stage.pool, label: `falls back to ${stage.pool}` })
  return {
    kind: 'pool',
    name: own?.pool ?? entry.target,
    label: own?.pool ?? entry.target,
    detail: own?.strategy,
    children,
  }
}

/** A tier's candidates by `group.echelon`, in the tier's order. */
function byEchelon(candidates: readonly CandidatePlan[]): [string, CandidatePlan[]][] {
  const groups = new Map<string, CandidatePlan[]>()
  for (const candidate of candidates) {
    const label = candidate.instance.slice(0, candidate.instance.indexOf('/'))
    groups.set(label, [...(groups.get(label) ?? []), candidate])
  }
  return [...groups]
}

function echelonNode(plan: RoutingPlan, label: string, candidates: readonly CandidatePlan[]): TreeNode {
  const children: TreeNode[] = []
  const models = new Map<string, TreeNode>()
  for (const candidate of candidates) {
    const instance = plan.instances.get(candidate.instance)
    const model = instance?.model ?? candidate.instance.slice(candidate.instance.indexOf('/') + 1)
    if (instance?.keyIndex === undefined) {
      // The model's name first (what tells instances apart in a row), its provider beside it.
      const colon = model.indexOf(':')
      children.push({
        kind: 'instance',
        name: candidate.instance,
        label: model.slice(colon + 1),
        detail: model.slice(0, colon),
        instance: candidate.instance,
      })
      continue
    }
    let node = models.get(model)
    if (!node) {
      node = { kind: 'model', name: `${label}/${model}`, label: model, children: [] }
      models.set(model, node)
      children.push(node)
    }
    node.children!.push({
      kind: 'instance',
      name: candidate.instance,
      label: `key ${instance.keyIndex}`,
      instance: candidate.instance,
    })
  }
  return { kind: 'echelon', name: label, label, children }
}
