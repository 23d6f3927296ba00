import type { LanguageModelV3, ProviderV3 } from '@ai-sdk/provider'
import { type ConfigStore, createConfigStore } from '@llmpool/config'
import { Router, type RouterOptions } from '@llmpool/router'
import type { Disposable } from '@llmpool/schema'
import { createLogger, type LogDestination, logRouterEvent, type PoolLogger } from './logging'
import { type ModelContext, namesOf, PoolLanguageModel, resolveName } from './pool-model'
import { createPoolProvider } from './provider'
import { routerGlobal, routerOptionsFrom } from './settings'

export interface CreateLLMPoolOptions {
  /** The configuration directory (the one holding `_registry.toml`). */
  configDir: string
  /** Overlay name: `x.<environment>.toml` over `x.toml`. Default `env.LLMPOOL_ENV`. */
  environment?: string
  /** Variables for `${VAR}` in the TOML files. Default `process.env`. */
  env?: Record<string, string | undefined>
  /** Hot reload. Default: the registry's `[global] enable_hot_reload`. */
  watch?: boolean
  /** Router options; they win over what the wrappers' `[global]` sets (limits backend, providers, clock, ...). */
  router?: Partial<Omit<RouterOptions, 'config'>>
  /**
   * Your own pino logger (or anything with pino's `debug/info/warn/error(object, message)`); `[global.logging]`
   * level and format are then yours to set. `false`: no logging at all. Default: a pino logger made from
   * `[global.logging]` when request or response logging is on (needs the optional package `pino`).
   */
  logger?: PoolLogger | false
  /** Where the default logger writes. Default `process.stdout`. */
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
  /** An AI SDK `ProviderV3`: `createProviderRegistry({ llmpool: pool.provider })` makes `llmpool:NAME` a model id. */
  readonly provider: ProviderV3
  /** The router every model routes through. */
  readonly router: Router
  /** The configuration store (`store.current`, reload events). */
  readonly store: ConfigStore
  /** Stops the router, the reload watcher and the logging subscription. */
  dispose(): Promise<void>
}

/**
 * Loads a configuration directory and returns its wrappers, pools and task groups as AI SDK models, all routed by
 * one `Router` that follows the configuration's hot reloads. The wrapper files' `[global]` settings apply: see the
 * README's table and docs/decisions/0008-wrapper-globals.md.
 */
export async function createLLMPool(options: CreateLLMPoolOptions): Promise<LLMPool> {
  const store = await createConfigStore({ directory: options.configDir, environment: options.environment, env: options.env, watch: options.watch })
  const subscriptions: Disposable[] = []
  let router: Router | undefined
  try {
    const global = routerGlobal(store.current)
    const logging = global.logging
    const wantsLogs = Object.values(store.current.wrappers).some((wrapper) => wrapper.global.logging.enable_request_logging || wrapper.global.logging.enable_response_logging)
    const logger =
      options.logger === false
        ? undefined
        : (options.logger ?? (wantsLogs ? await createLogger(logging, options.redactContent ?? false, options.logDestination ?? process.stdout) : undefined))
    router = new Router({ ...routerOptionsFrom(global), ...options.router, config: store })
    if (logger) {
      const routed = router
      subscriptions.push(routed.on((event) => logRouterEvent(logger, event)))
      subscriptions.push(
        store.onEvent((event) => {
          if (event.type === 'reload_applied') logger.info({ event: event.type, diff: event.diff }, 'configuration reloaded')
          if (event.type === 'reload_rejected') logger.warn({ event: event.type, errors: event.errors.map((problem) => `${problem.file}: ${problem.path}: ${problem.message}`) }, 'configuration reload rejected')
        }),
      )
    }
    const context: ModelContext = { store, router, logger, redactContent: options.redactContent ?? false }
    const model = (name: string) => {
      resolveName(context, name, 'any')
      return new PoolLanguageModel(name, context, 'any')
    }
    const pool: LLMPool = {
      wrapper(name) {
        resolveName(context, name, 'wrapper')
        return new PoolLanguageModel(name, context, 'wrapper')
      },
      model,
      names() {
        const config = store.current
        return { wrappers: namesOf(config, 'wrapper'), pools: Object.keys(config.pools), taskGroups: Object.keys(config.task_groups) }
      },
      provider: createPoolProvider(model),
      router,
      store,
      async dispose() {
        for (const subscription of subscriptions.splice(0)) subscription.dispose()
        await router?.dispose()
        await store.dispose()
      },
    }
    return pool
  } catch (error) {
    for (const subscription of subscriptions) subscription.dispose()
    await router?.dispose()
    await store.dispose()
    throw error
  }
}
