import type { LanguageModelV3StreamPart, LanguageModelV3StreamResult } from '@ai-sdk/provider'
import type { Clock } from '@llmpool/schema'
import { classifyFailure } from '@llmpool/breaker'
import type { RouterEvent } from './events'
import type { RunAttempt } from './execute/context'
import { UPSTREAM_FAILURE } from './execute/failure'
import { scrubMessage } from './scrub'
import { timeoutError } from './signals'

/** Parts that carry content: once one has been passed on, the stream is committed to its instance. */
const CONTENT = new Set<LanguageModelV3StreamPart['type']>([
  'text-delta',
  'reasoning-delta',
  'tool-input-start',
  'tool-input-delta',
  'tool-call',
  'tool-result',
  'file',
  'source',
])

/** An upstream stream that ended without a finish, or broke off. Classified as a server error (502). */
export class StreamInterruptedError extends Error {
  readonly statusCode = 502
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StreamInterruptedError'
  }
}

/**
 * An `error` part of an upstream stream, as an Error that says it is the upstream's (the AI SDK passes on what the
 * upstream sent: often a plain object). The part's error is its `cause`, so that classification reads it.
 */
function upstreamStreamError(instance: string, error: unknown): Error {
  if (error instanceof Error) return Object.assign(error, { [UPSTREAM_FAILURE]: true })
  const text = typeof error === 'string' ? error : typeof (error as { message?: unknown })?.message === 'string' ? (error as { message: string }).message : 'an error part'
  return Object.assign(new Error(`${instance}: the upstream stream sent an error: ${text}`, { cause: error }), { [UPSTREAM_FAILURE]: true })
}

/** Finish reasons that say the upstream did not answer properly. */
const FAILED_FINISH = new Set(['error', 'other'])

export interface StreamSettings {
  clock: Clock
  /** Longest silence between two parts after the first content (ms). */
  idleTimeoutMs: number
  emit(event: RouterEvent): void
  requestId: number
  target: string
}

/**
 * A streaming attempt. It reads the upstream until the first content part: any failure before it (an error status,
 * an error part, a stream that breaks or ends) fails the attempt, and the router falls over to another instance.
 * After it, the stream belongs to the caller: an upstream failure becomes an `error` part and the stream never ends
 * with a clean `finish`; silence longer than `idleTimeoutMs` is such a failure.
 */
export function streamAttempt(settings: StreamSettings): RunAttempt<LanguageModelV3StreamResult> {
  return async (instance, controls) => {
    const model = instance.readyModel ?? (await instance.getModel())
    const upstream = await model.doStream(controls.languageCall())
    const reader = upstream.stream.getReader()
    const head: LanguageModelV3StreamPart[] = []
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) throw new StreamInterruptedError(`${instance.key}: the stream ended before any content`)
        if (value.type === 'error') throw upstreamStreamError(instance.key, value.error)
        // No content and no proper finish (an error in a 200 answer, read as a finish): a failure of the instance.
        if (value.type === 'finish' && FAILED_FINISH.has(value.finishReason.unified)) {
          throw new StreamInterruptedError(`${instance.key}: the stream finished without content (${value.finishReason.unified}${value.finishReason.raw ? `: ${value.finishReason.raw}` : ''})`)
        }
        head.push(value)
        if (CONTENT.has(value.type) || value.type === 'finish') break
      }
    } catch (error) {
      void reader.cancel().catch(() => undefined)
      throw error
    }
    controls.disarmTimeout()
    const { clock } = settings
    const timeToFirstTokenMs = clock.now() - controls.started
    let finished = head.some((part) => part.type === 'finish')
    let failure: unknown
    let inputTokens: number | undefined
    let outputTokens: number | undefined
    let resolveDone!: (error: unknown) => void
    const done = new Promise<unknown>((resolve) => {
      resolveDone = resolve
    })
    let ended = false
    /** Ends the stream; a failure becomes an error part, unless the upstream's own error part already said it. */
    const end = (controller: ReadableStreamDefaultController<LanguageModelV3StreamPart>, error: unknown, forwarded = false) => {
      if (ended) return
      ended = true
      if (error !== undefined && !forwarded) controller.enqueue({ type: 'error', error })
      controller.close()
      settings.emit({
        type: 'stream_end',
        at: clock.now(),
        requestId: settings.requestId,
        target: settings.target,
        instance: instance.key,
        durationMs: clock.now() - controls.started,
        ok: error === undefined,
        ...(error !== undefined ? { error: { kind: classifyFailure(error), message: scrubMessage(error instanceof Error ? error.message : String(error), [instance.plan.apiKey]) } } : {}),
        inputTokens,
        outputTokens,
      })
      resolveDone(error)
    }
    const noteUsage = (part: LanguageModelV3StreamPart) => {
      if (part.type !== 'finish') return
      finished = true
      inputTokens = part.usage.inputTokens.total
      outputTokens = part.usage.outputTokens.total
    }
    head.forEach(noteUsage)

    const stream = new ReadableStream<LanguageModelV3StreamPart>({
      start(controller) {
        for (const part of head) controller.enqueue(part)
      },
      async pull(controller) {
        let idle: unknown
        try {
          const next = await new Promise<Awaited<ReturnType<typeof reader.read>>>((resolve, reject) => {
            idle = clock.setTimeout(() => reject(timeoutError(`${instance.key}: no data for ${settings.idleTimeoutMs} ms`)), settings.idleTimeoutMs)
            reader.read().then(resolve, reject)
          })
          clock.clearTimeout(idle)
          if (next.done) {
            if (failure !== undefined) end(controller, failure, true)
            else end(controller, finished ? undefined : new StreamInterruptedError(`${instance.key}: the stream ended without finishing`))
            return
          }
          const part = next.value
          if (part.type === 'error') failure ??= upstreamStreamError(instance.key, part.error)
          // After an error, a finish would read as a clean end: it is dropped.
          if (part.type === 'finish' && failure !== undefined) return
          noteUsage(part)
          controller.enqueue(part)
        } catch (error) {
          clock.clearTimeout(idle)
          const reason = controls.signal.reason ?? error
          // The upstream request ends too (a provider reading its own socket hears it through the attempt's signal).
          controls.signal.abort(reason)
          void reader.cancel(error).catch(() => undefined)
          end(controller, reason)
        }
      },
      async cancel(reason) {
        // The caller stopped reading: not the upstream's fault. Reported all the same (a caller that stops once it has
        // the finish part ended the stream cleanly), so that what waits for the end (a tracing span) hears of it.
        if (!ended) {
          settings.emit({
            type: 'stream_end',
            at: clock.now(),
            requestId: settings.requestId,
            target: settings.target,
            instance: instance.key,
            durationMs: clock.now() - controls.started,
            ok: true,
            ...(finished ? {} : { cancelled: true }),
            inputTokens,
            outputTokens,
          })
        }
        ended = true
        controls.signal.abort(reason ?? new Error('the caller stopped reading the stream'))
        await reader.cancel(reason).catch(() => undefined)
        resolveDone(undefined)
      },
    })
    return { value: Object.assign({}, upstream, { stream }), done, timeToFirstTokenMs }
  }
}
