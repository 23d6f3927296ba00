import { statSync } from 'node:fs'
import path from 'node:path'
import { checkConfig, type ConfigCheck } from '@llmpool/config'
import type { CliIo } from './cli-io'
import { UsageError } from './usage-error'

/** Where `validate` and `explain` look when no directory is given, relative to the working directory. */
export const DEFAULT_DIRECTORY = 'configs/llms'

export interface DirectoryCheck extends ConfigCheck {
  /** The directory as the user typed it (or the default): what messages show. */
  label: string
}

/**
 * Checks the configuration in `directory` (resolved against `io.cwd`). A directory that does not exist, or an
 * environment name that cannot be one, is a `UsageError`; every problem of the configuration itself is returned.
 */
export function checkDirectory(
  io: CliIo,
  options: { directory: string | undefined; environment: string | undefined; validation?: 'strict' | 'lenient' },
): DirectoryCheck {
  const label = options.directory ?? DEFAULT_DIRECTORY
  const directory = path.resolve(io.cwd, label)
  let isDirectory: boolean
  try {
    isDirectory = statSync(directory).isDirectory()
  } catch {
    throw new UsageError(
      `directory not found: ${label}${options.directory === undefined ? ' (give the configuration directory as an argument, or create one with "llmpool init")' : ''}`,
    )
  }
  if (!isDirectory) throw new UsageError(`not a directory: ${label}`)

  try {
    const check = checkConfig({
      directory,
      env: io.env,
      ...(options.environment === undefined ? {} : { environment: options.environment }),
      ...(options.validation === undefined ? {} : { validation: options.validation }),
    })
    return { ...check, label }
  } catch (error) {
    // checkConfig reports configuration problems as data; it throws a RangeError only for bad options (an
    // environment name like `../prod`), which came from the command line or LLMPOOL_ENV.
    if (error instanceof RangeError) throw new UsageError(error.message, { cause: error })
    throw error
  }
}
