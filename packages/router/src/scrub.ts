/** Key-looking tokens and bearer credentials, wherever an upstream's error text quotes them. */
const KEY_LIKE = /\b(?:sk|pk|rk|ak)-[A-Za-z0-9_*.-]{6,}|\bBearer\s+[^\s"',]+|\bx-api-key:\s*[^\s"',]+/gi

/**
 * An upstream's error message, safe to keep in attempts, events and logs: key-like tokens and the known secrets of
 * the instance are replaced by `[redacted]`, and the text is bounded.
 */
export function scrubMessage(message: string, secrets: readonly (string | undefined)[]): string {
  let text = message.length > 500 ? `${message.slice(0, 500)}…` : message
  for (const secret of secrets) if (secret && secret.length >= 4) text = text.split(secret).join('[redacted]')
  return text.replace(KEY_LIKE, '[redacted]')
}
