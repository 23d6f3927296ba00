import { suggestions } from '@llmpool/config'

/** `; did you mean "a", "b"?` or nothing. */
export function didYouMean(input: string, candidates: Iterable<string>): string {
  const found = suggestions(input, candidates)
  return found.length === 0 ? '' : `; did you mean ${found.map((name) => `"${name}"`).join(', ')}?`
}
