import type { LanguageModelV3StreamPart } from '@ai-sdk/provider'
import { messageId, messageUsage, stopReason } from './convert-response'

/** Text or a tool call that arrived while a tool call's input was still streaming: it waits its turn. */
type Waiting =
  | { kind: 'text'; id: string; text: string }
  | { kind: 'tool'; id: string; name: string; json: string; done: boolean }

const event = (type: string, data: string) => `event: ${type}\ndata: ${data}\n\n`

/**
 * Turns AI SDK stream parts into the Messages API's server-sent events: `message_start`, then content blocks
 * (`content_block_start`, `content_block_delta` with `text_delta` or `input_json_delta`, `content_block_stop`), then
 * `message_delta` (stop reason, usage) and `message_stop`. `write` gets each complete event.
 *
 * Anthropic's blocks come one after another, while the AI SDK's parts may interleave (OpenAI-compatible providers
 * keep a text open while tool calls stream). A text block can be closed and another opened later; a tool call's
 * input cannot be split. So while a tool call's input streams, whatever else arrives waits, and is written, in its
 * order, once that call ends.
 */
export class MessageEventWriter {
  private next = 0
  private open: { kind: 'text' | 'tool'; id: string; index: number } | undefined
  private readonly waiting: Waiting[] = []
  /** Tool calls already written or waiting (a `tool-call` part after their input deltas repeats them). */
  private readonly tools = new Set<string>()
  /** Tool calls the upstream ran itself: not the client's to see. */
  private readonly skipped = new Set<string>()

  constructor(
    private readonly write: (event: string) => void,
    private readonly model: string,
    private readonly id = messageId(),
  ) {}

  /** `message_start`: an empty message. Input tokens are not known before the end: `message_delta` carries them. */
  start(): void {
    const message = {
      id: this.id,
      type: 'message',
      role: 'assistant',
      model: this.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: messageUsage(undefined),
    }
    this.write(event('message_start', JSON.stringify({ type: 'message_start', message })))
  }

  /** Handles one part; returns true for `finish`, after `message_stop`. Error parts are the caller's. */
  part(part: LanguageModelV3StreamPart): boolean {
    switch (part.type) {
      case 'text-delta':
        if (part.delta !== '') this.text(part.id, part.delta)
        return false
      case 'text-end':
        if (this.open?.kind === 'text' && this.open.id === part.id) this.close()
        return false
      case 'tool-input-start':
        if (part.providerExecuted === true) this.skipped.add(part.id)
        else this.toolStart(part.id, part.toolName)
        return false
      case 'tool-input-delta':
        if (part.delta !== '' && !this.skipped.has(part.id)) this.toolDelta(part.id, part.delta)
        return false
      case 'tool-input-end':
        if (!this.skipped.has(part.id)) this.toolEnd(part.id)
        return false
      case 'tool-call':
        if (part.providerExecuted === true || this.skipped.has(part.toolCallId)) return false
        // A call not streamed as input deltas (some providers send only this part) is written whole.
        if (!this.tools.has(part.toolCallId)) {
          this.toolStart(part.toolCallId, part.toolName)
          this.toolDelta(part.toolCallId, part.input)
        }
        this.toolEnd(part.toolCallId)
        return false
      case 'finish': {
        this.close()
        this.drain(true)
        this.close()
        const usage = messageUsage(part.usage)
        this.write(
          event(
            'message_delta',
            JSON.stringify({
              type: 'message_delta',
              delta: stopReason(part.finishReason, part.providerMetadata),
              usage,
            }),
          ),
        )
        this.write(event('message_stop', '{"type":"message_stop"}'))
        return true
      }
      default:
        return false
    }
  }

  /** While a tool call's input streams, nothing else may be written. */
  private get busy(): boolean {
    return this.open?.kind === 'tool' || this.waiting.length > 0
  }

  private text(id: string, delta: string): void {
    if (this.busy) {
      const last = this.waiting[this.waiting.length - 1]
      if (last?.kind === 'text' && last.id === id) last.text += delta
      else this.waiting.push({ kind: 'text', id, text: delta })
      return
    }
    if (this.open?.id !== id) this.begin('text', id, { type: 'text', text: '' })
    this.delta({ type: 'text_delta', text: delta })
  }

  private toolStart(id: string, name: string): void {
    if (this.tools.has(id)) return
    this.tools.add(id)
    if (this.busy) this.waiting.push({ kind: 'tool', id, name, json: '', done: false })
    else this.begin('tool', id, { type: 'tool_use', id, name, input: {} })
  }

  private toolDelta(id: string, delta: string): void {
    if (this.open?.kind === 'tool' && this.open.id === id)
      return this.delta({ type: 'input_json_delta', partial_json: delta })
    const waiting = this.waiting.find((item) => item.kind === 'tool' && item.id === id)
    if (waiting?.kind === 'tool') waiting.json += delta
  }

  private toolEnd(id: string): void {
    if (this.open?.kind === 'tool' && this.open.id === id) {
      this.close()
      this.drain(false)
      return
    }
    const waiting = this.waiting.find((item) => item.kind === 'tool' && item.id === id)
    if (waiting?.kind === 'tool') waiting.done = true
  }

  /** Writes what waited, in order, until a tool call whose input is still streaming (or everything, at the end). */
  private drain(all: boolean): void {
    while (this.waiting.length > 0) {
      const item = this.waiting.shift()!
      if (item.kind === 'text') {
        if (this.open?.id !== item.id) this.begin('text', item.id, { type: 'text', text: '' })
        this.delta({ type: 'text_delta', text: item.text })
        continue
      }
      this.begin('tool', item.id, { type: 'tool_use', id: item.id, name: item.name, input: {} })
      if (item.json !== '') this.delta({ type: 'input_json_delta', partial_json: item.json })
      if (!item.done && !all) return
      this.close()
    }
  }

  private begin(kind: 'text' | 'tool', id: string, block: object): void {
    this.close()
    const index = this.next++
    this.open = { kind, id, index }
    this.write(
      event('content_block_start', JSON.stringify({ type: 'content_block_start', index, content_block: block })),
    )
  }

  private delta(delta: object): void {
    this.write(
      event('content_block_delta', JSON.stringify({ type: 'content_block_delta', index: this.open!.index, delta })),
    )
  }

  private close(): void {
    if (!this.open) return
    this.write(event('content_block_stop', `{"type":"content_block_stop","index":${this.open.index}}`))
    this.open = undefined
  }
}
