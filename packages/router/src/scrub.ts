/** Key-looking tokens and bearer credentials, wherever an upstream's error text quotes them. */
const KEY_LIKE = /\b(?:sk|pk|rk|ak)-[A-Za-z0-9_*.-]{6,}|\bBearer\s+[^\s"',]+|\bx-api-key:\s*[^\s"',]+/gi

/** Longest message kept (characters). */
const MAX_LENGTH = 500

/**
 * An upstream's error message, safe to keep in attempts, events and logs: key-like tokens and the known secrets of
 * the instance are replaced by `[redacted]`, then the text is bounded — in that order, so that a key cut in two
 * by the bound cannot leave its first half behind.
 */
export function scrubMessage(message: string, secrets: readonly (string | undefined)[]): string {
  let text = message
  for (const secret of secrets) if (secret && secret.length >= 4) text = text.split(secret).join('[redacted]')
  text = text.replace(KEY_LIKE, '[redacted]')
  return text.length > MAX_LENGTH ? `${text.slice(0, MAX_LENGTH)}…` : text
}
