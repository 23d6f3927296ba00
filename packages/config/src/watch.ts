import path from 'node:path'
import { watch } from 'chokidar'

export interface DirectoryWatcher {
  close(): Promise<void>
}

export interface WatchHandlers {
  /** Absolute paths of `.toml` files that were added, changed or removed. */
  onChange(paths: string[]): void
  onError(error: unknown): void
}

/** Watches a directory recursively for changes to `.toml` files (other files are ignored). */
export async function watchDirectory(directory: string, handlers: WatchHandlers): Promise<DirectoryWatcher> {
  const watcher = watch(directory, {
    ignoreInitial: true,
    ignored: (file, stats) => stats?.isFile() === true && path.extname(file) !== '.toml',
  })
  watcher.on('all', (_event, file) => {
    if (path.extname(file) === '.toml') handlers.onChange([path.resolve(file)])
  })
  watcher.on('error', (error) => handlers.onError(error))
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()))
  return { close: () => watcher.close() }
}
