import type {
  ReadableStreamDefaultReader,
  ReadableStreamReadResult,
  ReadableWritablePair,
  StreamPipeOptions,
} from 'node:stream/web'
import type { LanguageModelV3StreamPart, LanguageModelV3StreamResult } from '@ai-sdk/provider'
import { type Clock, LLMPoolError } from '@llmpool/schema'
import { classifyFailure } from '@llmpool/breaker'
import type { RouterEvent } from './events'
import type { AttemptControls, RunAttempt } from './execute/context'
import { UPSTREAM_FAILURE } from './execute/failure'
import type { InstanceRuntime } from './runtime/instance'
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

const streamInterruptedMarker = 'llmpool.error.StreamInterruptedError'
const streamInterruptedSymbol = Symbol.for(streamInterruptedMarker)

/**
 * An upstream stream that ended without a finish, or broke off. Classified as a server error (502): the router
 * falls back while nothing has been passed on, and ends the caller's stream with this error part after.
 */
export class StreamInterruptedError extends LLMPoolError<'stream_interrupted'> {
  private readonly [streamInterruptedSymbol] = true
  readonly statusCode = 502
  constructor(message: string, options?: { cause?: unknown }) {
    super({ code: 'stream_interrupted', message, cause: options?.cause })
    this.name = 'StreamInterruptedError'
  }
  static override isInstance(error: unknown): error is StreamInterruptedError {
    return LLMPoolError.hasMarker(error, streamInterruptedMarker)
  }
}

/**
 * An `error` part of an upstream stream, as an Error that says it is the upstream's (the AI SDK passes on what the
 * upstream sent: often a plain object). The part's error is its `cause`, so that classification reads it.
 */
function upstreamStreamError(instance: string, error: unknown): Error {
  if (error instanceof Error) return Object.assign(error, { [UPSTREAM_FAILURE]: true })
  const text =
    typeof error === 'string'
      ? error
      : typeof (error as { message?: unknown })?.message === 'string'
        ? (error as { message: string }).message
        : 'an error part'
  return Object.assign(new Error(`${instance}: the upstream stream sent an error: ${text}`, { cause: error }), {
    [UPSTREAM_FAILURE]: true,
  })
}

/** `ReadableStream.prototype.values`, which Node implements and its type declarations leave out. */
type IterableStream = {
  values(options?: { preventCancel?: boolean }): AsyncIterableIterator<LanguageModelV3StreamPart>
}

/** Finish reasons that say the upstream did not answer properly. */
const FAILED_FINISH = new Set(['error', 'other'])

/** Who answered a stream, as its `finish` part's `providerMetadata.llmpool` says. */
export interface StreamRouting {
  instance: string
  attempts: number
  /** A replay from the response cache. */
  cached?: boolean
}

export interface StreamSettings {
  clock: Clock
  /** Longest silence between two parts after the first content (ms). */
  idleTimeoutMs: number
  emit(event: RouterEvent): void
  requestId: number
  target: string
  /**
   * The `llmpool` metadata of the finish part: one object per request, filled in by `router.stream` once the routing
   * is known. The finish part holds this very object, so that a finish read ahead of that still says it.
   */
  routing: StreamRouting
}

/** `part` with `providerMetadata.llmpool` set to `routing` (a finish part: who answered). */
export function withStreamRouting(
  part: LanguageModelV3StreamPart & { type: 'finish' },
  routing: StreamRouting,
): LanguageModelV3StreamPart {
  const own = part.providerMetadata?.llmpool
  // Keys the upstream's own metadata had under `llmpool` are kept, under ours.
  if (own) routing = Object.assign(routing, { ...own, ...routing })
  return Object.assign({}, part, { providerMetadata: Object.assign({}, part.providerMetadata, { llmpool: routing }) })
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
          throw new StreamInterruptedError(
            `${instance.key}: the stream finished without content (${value.finishReason.unified}${value.finishReason.raw ? `: ${value.finishReason.raw}` : ''})`,
          )
        }
        head.push(value)
        if (CONTENT.has(value.type) || value.type === 'finish') break
      }
    } catch (error) {
      void reader.cancel().catch(() => undefined)
      throw error
    }
    controls.disarmTimeout()
    const committed = new CommittedStream(settings, instance, controls, reader, head)
    return {
      value: Object.assign({}, upstream, { stream: committed as unknown as ReadableStream<LanguageModelV3StreamPart> }),
      done: committed.done,
      timeToFirstTokenMs: committed.timeToFirstTokenMs,
    }
  }
}

type ReadResult = ReadableStreamReadResult<LanguageModelV3StreamPart>

const noop = () => undefined
const READ_DONE: ReadResult = { done: true, value: undefined }
/** What `take` makes of an upstream read besides a part: look in the queue (the stream ended), or read on. */
const QUEUED = Symbol('queued')
const READ_ON = Symbol('read on')

/**
 * A committed stream (the caller's from its first content on): passes the upstream's parts on, turns a failure into
 * an `error` part, reports the end (`stream_end`) and settles `done`.
 *
 * Streams are many and their parts more, so it costs little per stream and per part:
 * - it is not a ReadableStream but an object whose `getReader()` is itself: Node 20 makes every ReadableStream
 *   transferable as it is constructed (about 6 µs; 10 µs with the reads of a short stream, where this object takes
 *   1 µs). A real ReadableStream, reading from it, is made only if something else is asked of the stream
 *   (`pipeThrough`, `tee`, `for await`, ...);
 * - a read is the upstream's read, chained (no promise around it), and nothing is read ahead, except the end after
 *   the finish part, so that a caller that stops reading at `finish` still ends the stream (and frees its instance);
 * - one idle timer per stream rather than one per part. The timer is lazy: a read notes when it started; when the
 *   timer fires it checks the read still waiting, and sets itself again for the time left (not at all when no read
 *   waits: the next read arms it). Silence is counted only while the stream waits for the upstream, as when each
 *   read had its own timer: a caller that reads slowly does not time the upstream out.
 */
class CommittedStream {
  /** Settles with the error that ended the stream, or undefined (cleanly, or the caller cancelled). */
  readonly done: Promise<unknown>
  readonly timeToFirstTokenMs: number
  private resolveDone!: (error: unknown) => void
  /** Parts to hand out before reading the upstream again: the head, then the error part that ends a failed stream. */
  private readonly queue: LanguageModelV3StreamPart[]
  /** The read after the finish part (the end, normally), started before the caller asks: what it gets is queued. */
  private ahead: Promise<void> | undefined
  private real: ReadableStream<LanguageModelV3StreamPart> | undefined
  private readerTaken = false
  private finished = false
  private ended = false
  /** The upstream's error part, passed on: the stream ends with it. */
  private failure: unknown
  private inputTokens: number | undefined
  private outputTokens: number | undefined
  /** When the read now waiting for the upstream started; undefined while none waits. */
  private readingSince: number | undefined
  private idleTimer: unknown
  private readonly onRead = (next: ReadResult): ReadResult | Promise<ReadResult> => {
    const taken = this.take(next)
    if (taken === READ_ON) return this.readUpstream()
    return taken === QUEUED ? this.next() : { done: false, value: this.passed(taken) }
  }
  private readonly onReadError = (error: unknown): ReadResult => {
    this.fail(error)
    return this.next()
  }
  private readonly onAhead = (next: ReadResult): void => {
    this.ahead = undefined
    const taken = this.take(next)
    if (taken === READ_ON) this.readAhead()
    else if (taken !== QUEUED) this.queue.push(taken)
  }
  private readonly onAheadError = (error: unknown): void => {
    this.ahead = undefined
    this.fail(error)
  }
  private readonly readAgain = (): Promise<ReadResult> => this.read()
  /** What the idle timer reaches the stream through, emptied when it ends (see AttemptSignal's `timerTarget`). */
  private readonly idleTarget: { stream: CommittedStream | undefined } = { stream: this }
  private readonly onIdleTimer: () => void

  constructor(
    private readonly settings: StreamSettings,
    private readonly instance: InstanceRuntime,
    private readonly controls: AttemptControls,
    private readonly reader: ReadableStreamDefaultReader<LanguageModelV3StreamPart>,
    head: LanguageModelV3StreamPart[],
  ) {
    this.timeToFirstTokenMs = settings.clock.now() - controls.started
    const idle = this.idleTarget
    this.onIdleTimer = () => idle.stream?.checkIdle()
    this.done = new Promise<unknown>((resolve) => {
      this.resolveDone = resolve
    })
    for (const part of head) this.noteUsage(part)
    this.queue = head
    if (this.finished) this.readAhead()
  }

  // The caller's side: the stream and its reader in one object.

  get locked(): boolean {
    return this.real ? this.real.locked : this.readerTaken
  }

  getReader(): ReadableStreamDefaultReader<LanguageModelV3StreamPart> {
    if (this.real) return this.real.getReader()
    this.readerTaken = true
    return this as unknown as ReadableStreamDefaultReader<LanguageModelV3StreamPart>
  }

  read(): Promise<ReadResult> {
    if (this.queue.length > 0) return Promise.resolve(this.next())
    if (this.ahead) return this.ahead.then(this.readAgain)
    if (this.ended) return Promise.resolve(READ_DONE)
    return this.readUpstream()
  }

  releaseLock(): void {
    this.readerTaken = false
  }

  get closed(): Promise<undefined> {
    return this.done.then(noop)
  }

  cancel(reason?: unknown): Promise<void> {
    return this.real ? this.real.cancel(reason) : this.stop(reason)
  }

  /** The caller cancelled the stream. */
  private async stop(reason: unknown): Promise<void> {
    // The caller stopped reading: not the upstream's fault. Reported all the same (a caller that stops once it has
    // the finish part ended the stream cleanly), so that what waits for the end (a tracing span) hears of it.
    if (!this.ended) this.report(undefined, true)
    this.ended = true
    this.queue.length = 0
    this.stopTimer()
    this.controls.signal.abort(reason ?? new Error('the caller stopped reading the stream'))
    await this.reader.cancel(reason).catch(noop)
    this.resolveDone(undefined)
  }

  pipeThrough<T>(
    transform: ReadableWritablePair<T, LanguageModelV3StreamPart>,
    options?: StreamPipeOptions,
  ): ReadableStream<T> {
    // Node's types make `pipeThrough` generic in a way a method of our own cannot restate exactly.
    return this.stream().pipeThrough(transform as never, options) as ReadableStream<T>
  }

  pipeTo(destination: WritableStream<LanguageModelV3StreamPart>, options?: StreamPipeOptions): Promise<void> {
    return this.stream().pipeTo(destination, options)
  }

  tee(): [ReadableStream<LanguageModelV3StreamPart>, ReadableStream<LanguageModelV3StreamPart>] {
    return this.stream().tee()
  }

  values(options?: { preventCancel?: boolean }): AsyncIterableIterator<LanguageModelV3StreamPart> {
    // Node's ReadableStream has `values()`; the DOM-less lib types of Node 20 do not declare it.
    return (this.stream() as unknown as IterableStream).values(options)
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<LanguageModelV3StreamPart> {
    return (this.stream() as unknown as IterableStream).values()
  }

  /** A real ReadableStream reading this one, for whatever `getReader()` does not do. */
  private stream(): ReadableStream<LanguageModelV3StreamPart> {
    if (this.real) return this.real
    const source = this
    this.real = new ReadableStream<LanguageModelV3StreamPart>(
      {
        pull: (controller) =>
          source.read().then((next) => {
            if (next.done) controller.close()
            else controller.enqueue(next.value)
          }),
        cancel: (reason) => source.stop(reason),
      },
      { highWaterMark: 0 },
    )
    return this.real
  }

  // The upstream's side.

  /** Reads the upstream's next part for the caller. */
  private readUpstream(): Promise<ReadResult> {
    this.watchIdle()
    return this.reader.read().then(this.onRead, this.onReadError)
  }

  /** Reads the upstream's next part (after the finish: its end, normally) before the caller asks; queues it. */
  private readAhead(): void {
    this.watchIdle()
    this.ahead = this.reader.read().then(this.onAhead, this.onAheadError)
  }

  /** A read of the upstream starts: the idle timer watches the wait. */
  private watchIdle(): void {
    this.readingSince = this.settings.clock.now()
    if (this.idleTimer === undefined)
      this.idleTimer = this.settings.clock.setTimeout(this.onIdleTimer, this.settings.idleTimeoutMs)
  }

  /** The next queued part (or the end). */
  private next(): ReadResult {
    const part = this.queue.shift()
    return part === undefined ? READ_DONE : { done: false, value: this.passed(part) }
  }

  /**
   * One result of the upstream: the part to pass on, QUEUED when the stream ended (the error part that ends it, if
   * any, is queued), or READ_ON when the part is dropped.
   */
  private take(next: ReadResult): LanguageModelV3StreamPart | typeof QUEUED | typeof READ_ON {
    this.readingSince = undefined
    // Ended meanwhile (the idle timeout): what it queued comes instead.
    if (this.ended) return QUEUED
    if (next.done) {
      if (this.failure !== undefined) this.end(this.failure, true)
      else
        this.end(
          this.finished
            ? undefined
            : new StreamInterruptedError(`${this.instance.key}: the stream ended without finishing`),
        )
      return QUEUED
    }
    const part = next.value
    if (part.type === 'error') this.failure ??= upstreamStreamError(this.instance.key, part.error)
    // After an error, a finish would read as a clean end: it is dropped.
    if (part.type === 'finish' && this.failure !== undefined) return READ_ON
    this.noteUsage(part)
    // The end comes next: read it now, so that the stream ends (and frees its instance) even if the caller stops
    // reading at the finish part.
    if (part.type === 'finish') this.readAhead()
    return part
  }

  /** The upstream broke off (its read failed), or went silent too long. */
  private fail(error: unknown): void {
    this.readingSince = undefined
    if (this.ended) return
    const reason = this.controls.signal.reason ?? error
    // The upstream request ends too (a provider reading its own socket hears it through the attempt's signal).
    this.controls.signal.abort(reason)
    // A read still waiting gets the end (or fails): either way it finds the stream ended, and hands out its error part.
    void this.reader.cancel(error).catch(noop)
    this.end(reason)
  }

  private checkIdle(): void {
    this.idleTimer = undefined
    if (this.ended || this.readingSince === undefined) return
    const { clock, idleTimeoutMs } = this.settings
    const waited = clock.now() - this.readingSince
    if (waited < idleTimeoutMs) this.idleTimer = clock.setTimeout(this.onIdleTimer, idleTimeoutMs - waited)
    else this.fail(timeoutError(`${this.instance.key}: no data for ${idleTimeoutMs} ms`))
  }

  /** A part as the caller gets it: a finish says who answered. */
  private passed(part: LanguageModelV3StreamPart): LanguageModelV3StreamPart {
    return part.type === 'finish' ? withStreamRouting(part, this.settings.routing) : part
  }

  private noteUsage(part: LanguageModelV3StreamPart): void {
    if (part.type !== 'finish') return
    this.finished = true
    this.inputTokens = part.usage.inputTokens.total
    this.outputTokens = part.usage.outputTokens.total
  }

  /** Ends the stream; a failure becomes an error part, unless the upstream's own error part already said it. */
  private end(error: unknown, forwarded = false): void {
    if (this.ended) return
    this.ended = true
    this.stopTimer()
    if (error !== undefined && !forwarded) this.queue.push({ type: 'error', error })
    this.report(error, false)
    this.resolveDone(error)
  }

  /** `stream_end`: how the stream ended, with its tokens. */
  private report(error: unknown, cancelled: boolean): void {
    const { settings, instance } = this
    const at = settings.clock.now()
    const event: RouterEvent & { type: 'stream_end' } = {
      type: 'stream_end',
      at,
      requestId: settings.requestId,
      target: settings.target,
      instance: instance.key,
      durationMs: at - this.controls.started,
      ok: error === undefined,
      inputTokens: this.inputTokens,
      outputTokens: this.outputTokens,
    }
    if (error !== undefined)
      event.error = {
        kind: classifyFailure(error),
        message: scrubMessage(error instanceof Error ? error.message : String(error), [instance.plan.apiKey]),
      }
    if (cancelled && !this.finished) event.cancelled = true
    settings.emit(event)
  }

  private stopTimer(): void {
    this.idleTarget.stream = undefined
    if (this.idleTimer === undefined) return
    this.settings.clock.clearTimeout(this.idleTimer)
    this.idleTimer = undefined
  }
}
