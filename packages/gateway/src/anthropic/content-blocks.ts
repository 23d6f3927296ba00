import type { LanguageModelV3Message } from '@ai-sdk/provider'
import { invalidField } from './errors'

/** One part of an AI SDK user message. */
export type UserPart = Extract<LanguageModelV3Message, { role: 'user' }>['content'][number]

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/**
 * The file an `image` or `document` block's `source` holds: base64 data with its media type, or an http(s) URL.
 * Checked here, so that data no upstream could read is the client's 400 rather than an upstream's refusal (which
 * would count against the instance).
 */
export function fileData(
  block: Record<string, unknown>,
  where: string,
  accepts: 'image' | 'pdf' = 'image',
): { data: string | URL; mediaType: string } {
  const source = block.source
  if (!isObject(source))
    throw invalidField(
      `${where}.source`,
      'must be an object { type: "base64", media_type, data } or { type: "url", url }',
    )
  if (source.type === 'base64') {
    const mediaType = source.media_type
    const wanted = accepts === 'image' ? 'an image/* type' : '"application/pdf"'
    if (
      typeof mediaType !== 'string' ||
      (accepts === 'image' ? !mediaType.startsWith('image/') : mediaType !== 'application/pdf')
    ) {
      throw invalidField(`${where}.source.media_type`, `must be ${wanted}`)
    }
    if (typeof source.data !== 'string' || !BASE64.test(source.data))
      throw invalidField(`${where}.source.data`, 'must be base64')
    return { data: source.data, mediaType }
  }
  if (source.type === 'url') {
    let url: URL
    try {
      url = new URL(String(source.url))
    } catch {
      throw invalidField(`${where}.source.url`, 'is not a URL')
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw invalidField(`${where}.source.url`, 'must be an http(s) URL')
    return { data: url, mediaType: accepts === 'image' ? 'image/*' : 'application/pdf' }
  }
  throw invalidField(`${where}.source.type`, 'must be "base64" or "url"')
}

/** A user turn's `text`, `image` or `document` block as an AI SDK part (`tool_result` is the caller's). */
export function userBlock(block: Record<string, unknown>, where: string): UserPart {
  switch (block.type) {
    case 'text':
      if (typeof block.text !== 'string') throw invalidField(`${where}.text`, 'must be a string')
      return { type: 'text', text: block.text }
    case 'image':
      return { type: 'file', ...fileData(block, where) }
    case 'document': {
      const source = block.source
      // A plain-text document is its text.
      if (isObject(source) && source.type === 'text') {
        if (typeof source.data !== 'string') throw invalidField(`${where}.source.data`, 'must be a string')
        return { type: 'text', text: source.data }
      }
      return {
        type: 'file',
        ...fileData(block, where, 'pdf'),
        ...(typeof block.title === 'string' ? { filename: block.title } : {}),
      }
    }
    default:
      throw invalidField(
        `${where}.type`,
        `"${String(block.type).slice(0, 40)}" is not supported in a user message (text, image, document, tool_result)`,
      )
  }
}
