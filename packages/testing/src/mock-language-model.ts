import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3GenerateResult,
  LanguageModelV3StreamResult,
} from '@ai-sdk/provider'
import { mockGenerateResult, mockStreamResult } from './mock-results'
import { defaultContent, splitIntoChunks } from './replies'

/**
 * How a mock model answers: one result (every call), an `Error` (thrown on every call), a list consumed one per call
 * (an `Error` in it is thrown on its turn; a call past the end throws), or a function of the call options and the
 * 0-based call index (it may return a promise, or throw).
 */
export type MockBehaviour<Result> =
  | Result
  | Error
  | ReadonlyArray<Result | Error>
  | ((options: LanguageModelV3CallOptions, call: number) => Result | PromiseLike<Result>)

/** Options of `MockLanguageModel`. */
export interface MockLanguageModelOptions {
  /** Default `mock`. */
  provider?: string
  /** Default `mock-model`. */
  modelId?: string
  /** Default `{}`: every URL is downloaded by the AI SDK. */
  supportedUrls?: Record<string, RegExp[]>
  /** Default: `mock reply from MODEL: <last user message>`, like the mock upstream. */
  doGenerate?: MockBehaviour<LanguageModelV3GenerateResult>
  /** Default: the same text, streamed one word per delta. */
  doStream?: MockBehaviour<LanguageModelV3StreamResult>
}

/**
 * An in-memory AI SDK `LanguageModelV3` for unit tests: answers as told and records every call. Calls made with an
 * already aborted `abortSignal` throw the signal's reason.
 */
export class MockLanguageModel implements LanguageModelV3 {
  readonly specificationVersion = 'v3'
  readonly provider: string
  readonly modelId: string
  readonly supportedUrls: Record<string, RegExp[]>
  /** The options of every `doGenerate` call, in order. */
  readonly doGenerateCalls: LanguageModelV3CallOptions[] = []
  /** The options of every `doStream` call, in order. */
  readonly doStreamCalls: LanguageModelV3CallOptions[] = []
  private readonly generate: MockBehaviour<LanguageModelV3GenerateResult>
  private readonly streamBehaviour: MockBehaviour<LanguageModelV3StreamResult>

  constructor(options: MockLanguageModelOptions = {}) {
    this.provider = options.provider ?? 'mock'
    this.modelId = options.modelId ?? 'mock-model'
    this.supportedUrls = options.supportedUrls ?? {}
    this.generate = options.doGenerate ?? ((call) => mockGenerateResult(echo(this.modelId, call)))
    this.streamBehaviour = options.doStream ?? ((call) => mockStreamResult(splitIntoChunks(echo(this.modelId, call))))
  }

  doGenerate = async (options: LanguageModelV3CallOptions): Promise<LanguageModelV3GenerateResult> => {
    this.doGenerateCalls.push(options)
    return answer(this.generate, options, this.doGenerateCalls.length - 1, `${this.modelId}.doGenerate`)
  }

  doStream = async (options: LanguageModelV3CallOptions): Promise<LanguageModelV3StreamResult> => {
    this.doStreamCalls.push(options)
    return answer(this.streamBehaviour, options, this.doStreamCalls.length - 1, `${this.modelId}.doStream`)
  }
}

async function answer<Result>(
  behaviour: MockBehaviour<Result>,
  options: LanguageModelV3CallOptions,
  call: number,
  name: string,
): Promise<Result> {
  options.abortSignal?.throwIfAborted()
  let result: Result | Error
  if (typeof behaviour === 'function') {
    result = await (behaviour as (options: LanguageModelV3CallOptions, call: number) => Result | PromiseLike<Result>)(
      options,
      call,
    )
  } else if (Array.isArray(behaviour)) {
    if (call >= behaviour.length)
      throw new Error(`MockLanguageModel ${name}: call ${call + 1}, but only ${behaviour.length} results were given`)
    result = behaviour[call] as Result | Error
  } else {
    result = behaviour as Result | Error
  }
  if (result instanceof Error) throw result
  return result
}

function echo(modelId: string, options: LanguageModelV3CallOptions): string {
  let text = ''
  for (let index = options.prompt.length - 1; index >= 0 && !text; index--) {
    const message = options.prompt[index]
    if (message?.role !== 'user') continue
    text = message.content.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('\n')
  }
  return defaultContent(modelId, text)
}
