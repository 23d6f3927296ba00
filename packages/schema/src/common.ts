import Type from 'typebox'

/** Names of pools, task groups, echelons and wrappers: used in `group.echelon` references, so no dots. */
export const NAME_PATTERN = '^[A-Za-z][A-Za-z0-9_-]*$'

/** A model id is `provider:model`, e.g. `openai:gpt-4o`. */
export const MODEL_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]*:\\S.*$'

export const Name = (description: string) => Type.String({ minLength: 1, pattern: NAME_PATTERN, description })

/** More annotations of a key: `examples` for a key the reference configuration does not write (docs/reference.md). */
export interface Annotations {
  examples?: unknown[]
}

/** A duration or interval in seconds, greater than 0. */
export const Seconds = (description: string, defaultValue?: number, annotations: Annotations = {}) =>
  Type.Number({
    exclusiveMinimum: 0,
    description,
    ...annotations,
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
  })

/** A count of at least 1. */
/** `hedge_after`, the same key in a pool's and a task group's `fallback` table. */
export const HedgeAfter = Type.Optional(
  Seconds(
    'Hedging: after this many seconds without an answer, the next instance is called too; the first answer wins, the other call is cancelled. Left out: no hedging.',
    undefined,
    { examples: [2] },
  ),
)

export const Count = (description: string, defaultValue?: number, annotations: Annotations = {}) =>
  Type.Integer({
    minimum: 1,
    description,
    ...annotations,
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
  })

export const Flag = (description: string, defaultValue: boolean) => Type.Boolean({ description, default: defaultValue })

export const OneOf = <const Values extends string[]>(
  values: [...Values],
  description: string,
  defaultValue?: Values[number],
) => Type.Enum(values, { description, ...(defaultValue === undefined ? {} : { default: defaultValue }) })

/** A table that may hold any keys: metadata is not interpreted by llmpool. */
export const Metadata = Type.Record(Type.String(), Type.Unknown(), {
  description:
    'Free-form keys and values, kept as written and not interpreted (a `\${VAR}` in them is injected, but stays a string). Shown by `llmpool explain`.',
  default: {},
})
