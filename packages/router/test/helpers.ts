import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3GenerateResult,
  LanguageModelV3StreamPart,
} from '@ai-sdk/provider'
import { loadConfig, type ResolvedConfig } from '@llmpool/config'
import type { Clock } from '@llmpool/schema'
import { FakeClock, seededRandom } from '@llmpool/testing'
import { type ProviderDefinition, Router, type RouterOptions } from '../src/index'

/** Writes a configuration directory from `{ relativePath: toml }` and loads it. */
export async function configFrom(files: Record<string, string>): Promise<ResolvedConfig> {
  return loadConfig({ directory: configDirectory(files), env: {} })
}

/** Writes `{ relativePath: toml }` into a new temporary directory (or over `directory`); returns the directory. */
export function configDirectory(
  files: Record<string, string>,
  directory = mkdtempSync(path.join(tmpdir(), 'llmpool-router-')),
): string {
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(directory, file)), { recursive: true })
    writeFileSync(path.join(directory, file), text)
  }
  return directory
}

/**
 * The files of a configuration: a registry, and one file per pool and task group. Each text is the body of the
 * file after its `[pool]` / `[task_group]` header and `name` line: `task_groups = ["g"]` for a pool, tables like
 * `[task_group.echelons.e1]` for a group.
 */
export function layout(definition: {
  pools?: Record<string, string>
  groups: Record<string, string>
}): Record<string, string> {
  const pools = definition.pools ?? {}
  const files: Record<string, string> = {
    '_registry.toml': registry(Object.keys(pools), Object.keys(definition.groups)),
  }
  for (const [name, body] of Object.entries(pools)) files[`pools/${name}.toml`] = `[pool]\nname = "${name}"\n${body}\n`
  for (const [name, body] of Object.entries(definition.groups))
    files[`task-groups/${name}.toml`] = `[task_group]\nname = "${name}"\n${body}\n`
  return files
}

/** Loads the configuration that `layout(definition)` describes. */
export function setup(definition: {
  pools?: Record<string, string>
  groups: Record<string, string>
}): Promise<ResolvedConfig> {
  return configFrom(layout(definition))
}

export function usage(input = 3, output = 5): LanguageModelV3GenerateResult['usage'] {
  return {
    inputTokens: { total: input, noCache: input, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: output, text: output, reasoning: undefined },
  }
}

export function textResult(text: string): LanguageModelV3GenerateResult {
  return {
    content: [{ type: 'text', text }],
    finishReason: { unified: 'stop', raw: 'stop' },
    usage: usage(),
    warnings: [],
  }
}

/** An HTTP-like error as the AI SDK's APICallError carries it. */
export function httpError(
  statusCode: number,
  message = `HTTP ${statusCode}`,
  headers: Record<string, string> = {},
): Error {
  return Object.assign(new Error(message), {
    name: 'AI_APICallError',
    statusCode,
    responseHeaders: headers,
    isRetryable: statusCode >= 500 || statusCode === 429,
  })
}

export type Behaviour = (
  call: LanguageModelV3CallOptions,
  model: string,
) => Promise<LanguageModelV3GenerateResult> | LanguageModelV3GenerateResult

/** One recorded call of a mock model; `at` is the time on the clock given to `mockProvider`, if any. */
export interface MockCall {
  model: string
  call: LanguageModelV3CallOptions
  at: number | undefined
}

/**
 * In-memory models for the `mock` provider: `mock:NAME` answers with `behaviours[NAME]` (default: text "NAME").
 * Records every call (with the time on `options.clock`, when given).
 */
export function mockProvider(behaviours: Record<string, Behaviour> = {}, options: { clock?: Clock } = {}) {
  const calls: MockCall[] = []
  const streamParts: Record<
    string,
    (
      call: LanguageModelV3CallOptions,
    ) => LanguageModelV3StreamPart[] | Error | ReadableStream<LanguageModelV3StreamPart>
  > = {}
  const definition: ProviderDefinition = {
    createModel: ({ modelId }): LanguageModelV3 => ({
      specificationVersion: 'v3',
      provider: 'mock',
      modelId,
      supportedUrls: {},
      async doGenerate(call) {
        calls.push({ model: modelId, call, at: options.clock?.now() })
        const behaviour = behaviours[modelId]
        return behaviour ? behaviour(call, modelId) : textResult(modelId)
      },
      async doStream(call) {
        calls.push({ model: modelId, call, at: options.clock?.now() })
        const parts = streamParts[modelId]?.(call) ?? textParts(modelId)
        if (parts instanceof Error) throw parts
        if (parts instanceof ReadableStream) return { stream: parts }
        return {
          stream: new ReadableStream({
            start: (controller) => (parts.forEach((part) => controller.enqueue(part)), controller.close()),
          }),
        }
      },
    }),
  }
  return { definition, calls, behaviours, streamParts }
}

export function textParts(text: string, chunks = 3): LanguageModelV3StreamPart[] {
  const pieces = Array.from({ length: chunks }, (_, index) => `${text}-${index}`)
  return [
    { type: 'stream-start', warnings: [] },
    { type: 'text-start', id: '1' },
    ...pieces.map((delta): LanguageModelV3StreamPart => ({ type: 'text-delta', id: '1', delta })),
    { type: 'text-end', id: '1' },
    { type: 'finish', usage: usage(), finishReason: { unified: 'stop', raw: 'stop' } },
  ]
}

export const prompt: LanguageModelV3CallOptions = {
  prompt: [{ role: 'user', content: [{ type: 'text', text: 'hello' }] }],
}

/** A registry with the given pools and task groups (files named after them). */
export function registry(pools: string[], groups: string[], extra = ''): string {
  return [
    '[pools]',
    ...pools.map((name) => `${name} = { file = "pools/${name}.toml" }`),
    '[task_groups]',
    ...groups.map((name) => `${name} = { file = "task-groups/${name}.toml" }`),
    extra,
  ].join('\n')
}

/** The models called, in order. */
export function modelsCalled(calls: readonly MockCall[]): string[] {
  return calls.map((entry) => entry.model)
}

/** Each call answers with the next outcome (an Error is thrown, a function is called); the last one repeats. */
export function sequence(...outcomes: (LanguageModelV3GenerateResult | Error | Behaviour)[]): Behaviour {
  let index = 0
  return (call, model) => {
    const outcome = outcomes[Math.min(index++, outcomes.length - 1)]!
    if (outcome instanceof Error) throw outcome
    return typeof outcome === 'function' ? outcome(call, model) : outcome
  }
}

/** Always fails with `error`. */
export function fails(error: Error): Behaviour {
  return () => {
    throw error
  }
}

/** Behaviours that fail every call of the named models with a 500. */
export function failing(...models: string[]): Record<string, Behaviour> {
  return Object.fromEntries(models.map((model) => [model, fails(httpError(500))]))
}

/** Never answers; rejects with the abort reason once the call's `abortSignal` aborts, as `fetch` does. */
export const hang: Behaviour = (call) =>
  new Promise((_resolve, reject) => {
    const signal = call.abortSignal
    if (signal?.aborted) return reject(signal.reason)
    signal?.addEventListener('abort', () => reject(signal.reason), { once: true })
  })

/** Answers (or fails, for an Error) after `ms` on `clock`; rejects when the call is aborted first. */
export function after(
  clock: Clock,
  ms: number,
  outcome: LanguageModelV3GenerateResult | Error = textResult('late'),
): Behaviour {
  return (call) =>
    new Promise((resolve, reject) => {
      const timer = clock.setTimeout(() => (outcome instanceof Error ? reject(outcome) : resolve(outcome)), ms)
      call.abortSignal?.addEventListener(
        'abort',
        () => {
          clock.clearTimeout(timer)
          reject(call.abortSignal?.reason)
        },
        { once: true },
      )
    })
}

export interface Deferred<T> {
  promise: Promise<T>
  resolve(value: T): void
  reject(error: unknown): void
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** Calls that stay open until the test settles them: `held.next()` is the behaviour, `held.open` the pending ones. */
export function holder() {
  const open: Deferred<LanguageModelV3GenerateResult>[] = []
  const behaviour: Behaviour = () => {
    const call = deferred<LanguageModelV3GenerateResult>()
    open.push(call)
    return call.promise
  }
  return { behaviour, open }
}

/** A reproducible source of numbers in [0, 1) (mulberry32, from @llmpool/testing). */
export { seededRandom }

/**
 * A stream of `parts`; then it closes, errors with `end.error`, or stays open (`end.hang`). Like a body read by
 * `fetch`, it errors with the abort reason when `end.signal` aborts.
 */
export function partsStream(
  parts: LanguageModelV3StreamPart[],
  end: { error?: unknown; hang?: boolean; signal?: AbortSignal } = {},
): ReadableStream<LanguageModelV3StreamPart> {
  let index = 0
  return new ReadableStream(
    {
      start(controller) {
        end.signal?.addEventListener('abort', () => controller.error(end.signal?.reason), { once: true })
      },
      pull(controller) {
        // One part per read, so that an error comes after the parts before it have been read.
        if (index < parts.length) return controller.enqueue(parts[index++]!)
        if (end.error !== undefined) controller.error(end.error)
        else if (!end.hang) controller.close()
      },
    },
    { highWaterMark: 0 },
  )
}

/** Reads a stream to its end. */
export async function readAll<T>(stream: ReadableStream<T>): Promise<T[]> {
  const parts: T[] = []
  const reader = stream.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return parts
    parts.push(value)
  }
}

/** What a rejected promise rejected with (fails the test when it resolves). Attach it at once, before time moves. */
export async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected a rejection')
}

/** Watches a promise without awaiting it: `state.settled` turns true once it resolves or rejects. */
export function watch<T>(promise: Promise<T>) {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false }
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  )
  return state
}

const routers: Router[] = []

/**
 * A router over `config` with the mock provider, a fake clock, a seeded random and no active probes, unless
 * `options` says otherwise. `disposeRouters()` (in `afterEach`) disposes every router made this way.
 */
export function routerFor(
  config: RouterOptions['config'],
  mock: { definition: ProviderDefinition },
  options: Partial<RouterOptions> = {},
): Router {
  const router = new Router({
    config,
    providers: { mock: mock.definition },
    healthChecks: false,
    clock: new FakeClock(),
    random: seededRandom(7),
    ...options,
  })
  routers.push(router)
  return router
}

export async function disposeRouters(): Promise<void> {
  await Promise.all(routers.splice(0).map((router) => router.dispose()))
}

/** Advances `clock` in steps of `stepMs` until `promise` settles; returns (or throws) what it settled with. */
export async function drive<T>(clock: FakeClock, promise: Promise<T>, stepMs = 25, maxMs = 600_000): Promise<T> {
  const state = watch(promise)
  for (let elapsed = 0; !state.settled && elapsed <= maxMs; elapsed += stepMs) await clock.advance(stepMs)
  return promise
}
