import type { EmbeddingModelV3, LanguageModelV3, LanguageModelV3CallOptions, ProviderV3 } from '@ai-sdk/provider'
import { type ConfigStore, createConfigStore } from '@llmpool/config'
import {
  type EmbedCall,
  type RoutedEmbedResult,
  type RoutedGenerateResult,
  type RoutedStreamResult,
  Router,
  type RouterOptions,
} from '@llmpool/router'
import type { Disposable } from '@llmpool/schema'
import { type PoolCallOptions, PoolCalls } from './calls'
import { PoolEmbeddingModel, PoolEmbeddings } from './embedding-model'
import { type LogDestination, Loggers, loadPino, logRouterEvent, type PoolLogger } from './logging'
import { PoolLanguageModel } from './pool-model'
import { createPoolProvider } from './provider'

export interface CreateLLMPoolOptions {
  /** The configuration directory (the one holding `_registry.toml`), or a `ConfigStore` you made (and dispose). */
  configDir: string | ConfigStore
  /** Overlay name: `x.<environment>.toml` over `x.toml`. Default `env.LLMPOOL_ENV`. */
  environment?: string
  /** Variables for `${VAR}` in the TOML files. Default `process.env`. */
  env?: Record<string, string | undefined>
  /** Hot reload. Default: the registry's `[global] enable_hot_reload`. */
  watch?: boolean
  /**
   * How long the first load may wait for a file caught half-written (written under 2 s before) to become valid
   * (ms; `createConfigStore`'s `startupWaitMs`). Default 0: an invalid configuration rejects at once.
   */
  startupWaitMs?: number
  /** Router options; they win over what the files set for every entry (limits backend, providers, clock, ...). */
  router?: Partial<Omit<RouterOptions, 'config'>>
  /**
   * Your own pino logger (or anything with pino's `debug/info/warn/error(object, message)`); `[global.logging]`
   * level and format are then yours to set. `false`: no logging at all. Default: pino loggers made from each
   * wrappers file's `[global.logging]` when request or response logging is on (needs the optional package `pino`).
   */
  logger?: PoolLogger | false
  /** Where the default loggers write. Default `process.stdout`. */
  logDestination?: LogDestination
  /** Replace message content (prompts, answers) in log lines by `[redacted]`. Secrets are always redacted. Default false. */
  redactContent?: boolean
}

/** Every pool, task group and wrapper of one configuration directory as AI SDK models. */
export interface LLMPool {
  /** A wrapper of the wrapper files, as an AI SDK model. Throws `UnknownWrapperError` for a name that is not one. */
  wrapper(name: string): LanguageModelV3
  /** A wrapper, pool or task group by its own name, as an AI SDK model. Throws `UnknownWrapperError` otherwise. */
  model(name: string): LanguageModelV3
  /** The names `model()` takes, in the configuration in force. */
  names(): { wrappers: string[]; pools: string[]; taskGroups: string[] }
  /**
   * One non-streaming call to a wrapper, pool or task group, with everything a call through `model(name)` gets
   * (tool policy, logging, deadline, retries, cache), and the routing record. What the gateway calls.
   */
  generate(name: string, call: LanguageModelV3CallOptions, options?: PoolCallOptions): Promise<RoutedGenerateResult>
  /** One streaming call, as `generate`. */
  stream(name: string, call: LanguageModelV3CallOptions, options?: PoolCallOptions): Promise<RoutedStreamResult>
  /**
   * A wrapper, pool or task group as an AI SDK embedding model, for `embed` / `embedMany`: its echelons' models are
   * called as embedding models (docs/routing.md, "Embeddings"). Throws `UnknownWrapperError` for an unknown name.
   */
  embeddingModel(name: string): EmbeddingModelV3
  /** One embedding call (the whole batch, one upstream request), with the routing record. What the gateway calls. */
  embed(name: string, call: EmbedCall, options?: PoolCallOptions): Promise<RoutedEmbedResult>
  /** An AI SDK `ProviderV3`: `createProviderRegistry({ llmpool: pool.provider })` makes `llmpool:NAME` a model id. */
  readonly provider: ProviderV3
  /** The router every model routes through. */
  readonly router: Router
  /** The configuration store (`store.current`, reload events). */
  readonly store: ConfigStore
  /** Stops the router, the reload watcher (when the pool made the store) and the logging subscriptions. */
  dispose(): Promise<void>
}

/** Whether any entry of the plan logs requests or responses. */
function wantsLogs(router: Router): boolean {
  for (const entry of router.plan.entries.values())
    if (entry.services.logging.requests || entry.services.logging.responses) return true
  return false
}

/**
 * Loads a configuration directory and returns its wrappers, pools and task groups as AI SDK models, all routed by
 * one `Router` that follows the configuration's hot reloads. Each wrappers file's `[global]` applies to the wrappers
 * it declares; pools and task groups called by their own names get the documented defaults. See
 * docs/decisions/0010-one-plan-for-every-door.md.
 */
export async function createLLMPool(options: CreateLLMPoolOptions): Promise<LLMPool> {
  const ownsStore = typeof options.configDir === 'string'
  const store =
    typeof options.configDir === 'string'
      ? await createConfigStore({
          directory: options.configDir,
          environment: options.environment,
          env: options.env,
          watch: options.watch,
          ...(options.startupWaitMs !== undefined ? { startupWaitMs: options.startupWaitMs } : {}),
        })
      : options.configDir
  const subscriptions: Disposable[] = []
  let router: Router | undefined
  try {
    router = new Router({ ...options.router, config: store })
    const routed = router
    const redactContent = options.redactContent ?? false
    const destination = options.logDestination ?? process.stdout
    let loggers: Loggers | undefined
    if (options.logger !== false) {
      if (options.logger) loggers = new Loggers(undefined, options.logger, redactContent, destination)
      else if (wantsLogs(routed)) loggers = new Loggers(await loadPino(), undefined, redactContent, destination)
    }
    // The first logger in use hears router events and reloads: the caller's, or that of the first entry that logs.
    // Looked up once per plan (a reload makes a new one), not on each of the four or more events of every request.
    let chosen: { plan: unknown; loggers: Loggers; logger: PoolLogger | undefined } | undefined
    const eventLogger = (): PoolLogger | undefined => {
      if (!loggers) return undefined
      const plan = routed.plan
      if (chosen?.plan === plan && chosen.loggers === loggers) return chosen.logger
      let logger: PoolLogger | undefined = options.logger || undefined
      for (const entry of plan.entries.values()) {
        if (entry.services.logging.requests || entry.services.logging.responses) {
          logger = loggers.of(entry.services.logging)
          break
        }
      }
      chosen = { plan, loggers, logger }
      return logger
    }
    subscriptions.push(
      routed.on((event) => {
        const logger = eventLogger()
        if (logger) logRouterEvent(logger, event)
      }),
    )
    subscriptions.push(
      store.onEvent((event) => {
        if (event.type === 'reload_applied' || event.type === 'reload_rejected') {
          // A reload that turns logging on for the first time: load pino now.
          if (!loggers && options.logger !== false && wantsLogs(routed)) {
            loadPino().then(
              (pino) => (loggers ??= new Loggers(pino, undefined, redactContent, destination)),
              () => undefined,
            )
          }
        }
        const logger = eventLogger()
        if (!logger) return
        if (event.type === 'reload_applied')
          logger.info({ event: event.type, hash: event.hash, diff: event.diff }, 'configuration reloaded')
        if (event.type === 'reload_rejected')
          logger.warn(
            {
              event: event.type,
              errors: event.errors.map(
                (problem) => `${problem.file}:${problem.line ?? '?'}: ${problem.path}: ${problem.message}`,
              ),
            },
            'configuration reload rejected',
          )
      }),
    )
    const calls = new PoolCalls(routed, () => loggers, redactContent)
    const model = (name: string) => {
      calls.entry(name, 'any')
      return new PoolLanguageModel(name, calls, 'any')
    }
    const embeddings = new PoolEmbeddings(routed, calls, () => loggers, redactContent)
    const embeddingModel = (name: string) => {
      calls.entry(name, 'any')
      return new PoolEmbeddingModel(name, embeddings, 'any')
    }
    const pool: LLMPool = {
      wrapper(name) {
        calls.entry(name, 'wrapper')
        return new PoolLanguageModel(name, calls, 'wrapper')
      },
      model,
      names() {
        const { wrappers, pools, taskGroups } = routed.targets()
        return { wrappers, pools, taskGroups }
      },
      generate: (name, call, callOptions) => calls.generate(name, call, callOptions),
      stream: (name, call, callOptions) => calls.stream(name, call, callOptions),
      embeddingModel,
      embed: (name, call, callOptions) => embeddings.embed(name, call, callOptions),
      provider: createPoolProvider(model, embeddingModel),
      router: routed,
      store,
      async dispose() {
        for (const subscription of subscriptions.splice(0)) subscription.dispose()
        await routed.dispose()
        if (ownsStore) await store.dispose()
      },
    }
    return pool
  } catch (error) {
    for (const subscription of subscriptions) subscription.dispose()
    await router?.dispose()
    if (ownsStore) await store.dispose()
    throw error
  }
}
