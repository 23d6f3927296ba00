// Character codes of JSON's structure, for the scanners that read request and answer texts without parsing them
// (json-guard.ts, pass-through.ts). JSON strings escape every `"` inside them, so a token found from a token boundary
// is one, and a string followed by `:` is a key.
export const QUOTE = 34
export const BACKSLASH = 92
export const COLON = 58
export const OPEN_BRACE = 123
export const OPEN_BRACKET = 91
export const CLOSE_BRACE = 125
export const CLOSE_BRACKET = 93

/** JSON's whitespace: space, line feed, carriage return, tab. */
export const isSpace = (code: number) => code === 32 || code === 10 || code === 13 || code === 9
