import {
  type EmbeddingModelV3,
  type EmbeddingModelV3CallOptions,
  type EmbeddingModelV3Result,
  TooManyEmbeddingValuesForCallError,
} from '@ai-sdk/provider'
import { ATTEMPT, type AttemptSignal } from './attempt-signal'
import { EmbeddingsUnsupportedError, InvalidRequestError } from './errors'
import { isPromise, type RunAttempt } from './execute/context'
import type { ProviderRegistry } from './providers'
import type { Routing } from './router-options'
import type { InstanceRuntime } from './runtime/instance'
import type { EntryRuntime } from './runtime/topology'

/** What `router.embed` takes: the AI SDK's embedding call (`values`, `providerOptions`, `headers`, `abortSignal`). */
export type EmbedCall = EmbeddingModelV3CallOptions

/** An embedding model's result, with where the call went (also in `providerMetadata.llmpool`). */
export type RoutedEmbedResult = EmbeddingModelV3Result & { routing: Routing }

/** The `abortSignal` of every embedding call the router makes: read from the attempt the call carries (see `onAbort`). */
const ABORT_SIGNAL_PROPERTY: PropertyDescriptor = {
  get(this: { [ATTEMPT]: AttemptSignal }) {
    return this[ATTEMPT].signal
  },
  enumerable: true,
  configurable: true,
}

/** An `InvalidRequestError` for a batch larger than `limit` (nothing is sent). */
function refuseLarger(entry: EntryRuntime, call: EmbedCall, limit: number | undefined): void {
  if (limit === undefined || call.values.length <= limit) return
  const cause = new TooManyEmbeddingValuesForCallError({
    provider: 'llmpool',
    modelId: entry.plan.name,
    maxEmbeddingsPerCall: limit,
    values: call.values,
  })
  throw new InvalidRequestError(entry.plan.target, [], cause)
}

/** Every instance a request for `entry` may reach: its walks' lists, in order, each instance once. */
function instancesOf(entry: EntryRuntime): InstanceRuntime[] {
  const seen = new Set<InstanceRuntime>()
  for (const walk of entry.walks)
    for (const list of walk.lists) for (const candidate of list) seen.add(candidate.instance)
  return [...seen]
}

/**
 * The embedding side of the router: one AI SDK `EmbeddingModelV3` per instance, made by its provider's
 * `createEmbeddingModel` on first use (an instance is an embedding instance because it is called through
 * `router.embed`: the configuration has no separate kind of model), and the checks made before a batch is routed.
 */
export class EmbeddingModels {
  /** Models made (the hot path reads them without awaiting). */
  private readonly ready = new WeakMap<InstanceRuntime, EmbeddingModelV3>()
  private readonly pending = new WeakMap<InstanceRuntime, Promise<EmbeddingModelV3>>()
  /** Per entry: the instances that cannot embed, and the largest batch every instance takes. */
  private readonly checked = new WeakMap<
    EntryRuntime,
    { unsupported: string[]; maxPerCall: number | undefined | Promise<number | undefined> }
  >()

  constructor(private readonly providers: ProviderRegistry) {}

  /** The instance's embedding model, made on first use; a failure to make it is not kept (the next call tries again). */
  model(instance: InstanceRuntime): EmbeddingModelV3 | Promise<EmbeddingModelV3> {
    const made = this.ready.get(instance)
    if (made) return made
    let pending = this.pending.get(instance)
    if (!pending) {
      const provider = this.providers.get(instance.plan.provider)
      pending = Promise.resolve().then(() => {
        if (!provider.createEmbeddingModel) throw new EmbeddingsUnsupportedError(instance.key, [instance.key])
        return provider.createEmbeddingModel(instance.settings)
      })
      this.pending.set(instance, pending)
      pending.then(
        (model) => this.ready.set(instance, model),
        () => this.pending.delete(instance),
      )
    }
    return pending
  }

  private check(entry: EntryRuntime) {
    let checked = this.checked.get(entry)
    if (checked) return checked
    const instances = instancesOf(entry)
    const unsupported = instances
      .filter((instance) => !this.providers.get(instance.plan.provider).createEmbeddingModel)
      .map((instance) => instance.key)
    const maxPerCall =
      unsupported.length > 0
        ? undefined
        : Promise.allSettled(instances.map((instance) => this.model(instance))).then((settled) => {
            // An instance whose model cannot be made fails its own attempts (as a language model does); it sets no limit.
            const limits = settled.map((result) =>
              result.status === 'fulfilled' ? result.value.maxEmbeddingsPerCall : undefined,
            )
            return Promise.all(limits).then((values) => {
              const known = values.filter((value): value is number => typeof value === 'number' && value > 0)
              const smallest = known.length > 0 ? Math.min(...known) : undefined
              if (checked) checked.maxPerCall = smallest
              return smallest
            })
          })
    checked = { unsupported, maxPerCall }
    this.checked.set(entry, checked)
    return checked
  }

  /**
   * The most values one embedding call to `entry` takes: the smallest `maxEmbeddingsPerCall` of its instances'
   * models (undefined: no limit known). Throws `EmbeddingsUnsupportedError` when an instance cannot embed.
   */
  async maxPerCall(entry: EntryRuntime): Promise<number | undefined> {
    const checked = this.check(entry)
    if (checked.unsupported.length > 0) throw new EmbeddingsUnsupportedError(entry.plan.target, checked.unsupported)
    return checked.maxPerCall
  }

  /**
   * Refuses, before any upstream call, a batch that some instance of `entry` could not take in one call — so that
   * whether it fails does not depend on the instance rotation picks — and a target that cannot embed. Synchronous
   * once the entry's limit is known (a promise only for the first call, while the models are made).
   */
  admit(entry: EntryRuntime, call: EmbedCall): Promise<void> | undefined {
    const checked = this.check(entry)
    if (checked.unsupported.length > 0) throw new EmbeddingsUnsupportedError(entry.plan.target, checked.unsupported)
    const limit = checked.maxPerCall
    if (isPromise(limit)) return limit.then((known) => refuseLarger(entry, call, known))
    refuseLarger(entry, call, limit)
    return undefined
  }

  /**
   * The attempt of one embedding request: the instance's embedding model called with the caller's values and
   * options, and the attempt's abort signal (made only if the model reads it; `onAbort` makes none).
   */
  attempt(call: EmbedCall): RunAttempt<EmbeddingModelV3Result> {
    return async (instance, controls) => {
      const model = this.ready.get(instance) ?? (await this.model(instance))
      const upstreamCall: EmbeddingModelV3CallOptions & { [ATTEMPT]?: AttemptSignal } = { values: call.values }
      if (call.providerOptions) upstreamCall.providerOptions = call.providerOptions
      if (call.headers) upstreamCall.headers = call.headers
      upstreamCall[ATTEMPT] = controls.signal
      Object.defineProperty(upstreamCall, 'abortSignal', ABORT_SIGNAL_PROPERTY)
      return { value: await model.doEmbed(upstreamCall) }
    }
  }
}
