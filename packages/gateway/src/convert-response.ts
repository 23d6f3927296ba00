import type {
  LanguageModelV3FinishReason,
  LanguageModelV3GenerateResult,
  LanguageModelV3StreamPart,
  LanguageModelV3Usage,
} from '@ai-sdk/provider'

let sequence = 0
/** A unique enough completion id: `chatcmpl-<time><counter>`. */
export const completionId = () => `chatcmpl-${Date.now().toString(36)}${(++sequence).toString(36)}`

/** The AI SDK's unified finish reason as OpenAI writes it. */
export function finishReason(reason: LanguageModelV3FinishReason | undefined): string {
  switch (reason?.unified) {
    case 'tool-calls':
      return 'tool_calls'
    case 'length':
      return 'length'
    case 'content-filter':
      return 'content_filter'
    default:
      return 'stop'
  }
}

export function usageOf(usage: LanguageModelV3Usage | undefined) {
  const prompt = usage?.inputTokens.total ?? 0
  const completion = usage?.outputTokens.total ?? 0
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion }
}

/** A `chat.completion` object from a generate result. */
export function toChatCompletion(result: LanguageModelV3GenerateResult, model: string, id = completionId()) {
  let text = ''
  let hasText = false
  const toolCalls: { id: string; type: 'function'; function: { name: string; arguments: string } }[] = []
  for (const part of result.content) {
    if (part.type === 'text') {
      text += part.text
      hasText = true
    } else if (part.type === 'tool-call') {
      toolCalls.push({
        id: part.toolCallId,
        type: 'function',
        function: { name: part.toolName, arguments: part.input },
      })
    }
  }
  return {
    id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: hasText || toolCalls.length === 0 ? text : null,
          refusal: null,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: finishReason(result.finishReason),
      },
    ],
    usage: usageOf(result.usage),
  }
}

/**
 * Turns stream parts into `chat.completion.chunk` SSE events. `write` gets each complete `data: ...\n\n` event.
 * The first event carries the role; text deltas carry content; tool input deltas carry `tool_calls` with their
 * index; `finish` gives the chunk with `finish_reason`, then the usage chunk when asked for.
 */
export class ChunkWriter {
  private readonly prefix: string
  private readonly toolIndex = new Map<string, number>()
  private started = false

  constructor(
    private readonly write: (event: string) => void,
    model: string,
    private readonly includeUsage: boolean,
    id = completionId(),
  ) {
    const created = Math.floor(Date.now() / 1000)
    // Everything but `choices` (and `usage`) is the same in every chunk: serialize it once.
    this.prefix = `data: {"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"system_fingerprint":null,`
  }

  private chunk(delta: unknown, finish: string | null = null): void {
    this.write(
      `${this.prefix}"choices":[{"index":0,"delta":${JSON.stringify(delta)},"logprobs":null,"finish_reason":${finish === null ? 'null' : JSON.stringify(finish)}}]}\n\n`,
    )
  }

  /**
   * The role chunk; sent before the first delta. `routing` (who answered) goes into it as the extension field
   * `llmpool`, which OpenAI clients ignore.
   */
  start(routing?: { instance: string; attempts: number }): void {
    if (this.started) return
    this.started = true
    if (routing === undefined) return this.chunk({ role: 'assistant', content: '' })
    this.write(
      `${this.prefix}"llmpool":{"instance":${JSON.stringify(routing.instance)},"attempts":${routing.attempts}},"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n`,
    )
  }

  /** Handles one part; returns true for `finish`. Error parts are the caller's. */
  part(part: LanguageModelV3StreamPart): boolean {
    switch (part.type) {
      case 'text-delta':
        if (part.delta === '') return false
        this.start()
        this.chunk({ content: part.delta })
        return false
      case 'tool-input-start': {
        this.start()
        const index = this.toolIndex.size
        this.toolIndex.set(part.id, index)
        this.chunk({
          tool_calls: [{ index, id: part.id, type: 'function', function: { name: part.toolName, arguments: '' } }],
        })
        return false
      }
      case 'tool-input-delta': {
        const index = this.toolIndex.get(part.id)
        if (index !== undefined && part.delta !== '')
          this.chunk({ tool_calls: [{ index, function: { arguments: part.delta } }] })
        return false
      }
      case 'tool-call': {
        if (this.toolIndex.has(part.toolCallId)) return false // already streamed as input deltas
        this.start()
        const index = this.toolIndex.size
        this.toolIndex.set(part.toolCallId, index)
        this.chunk({
          tool_calls: [
            { index, id: part.toolCallId, type: 'function', function: { name: part.toolName, arguments: part.input } },
          ],
        })
        return false
      }
      case 'finish':
        this.start()
        this.chunk({}, finishReason(part.finishReason))
        if (this.includeUsage)
          this.write(`${this.prefix}"choices":[],"usage":${JSON.stringify(usageOf(part.usage))}}\n\n`)
        return true
      default:
        return false
    }
  }
}
