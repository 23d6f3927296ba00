import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { LLMPoolError } from '@llmpool/schema'

/** One built file of the page, read once and kept in memory. */
export interface Asset {
  body: Buffer
  type: string
  etag: string
}

const TYPES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
}

/** The page's files: `dist/page/` next to the built module, or the package's `dist/page/` when run from `src/`. */
function pageDirectory(): string | undefined {
  for (const candidate of ['./page/', '../dist/page/']) {
    const directory = fileURLToPath(new URL(candidate, import.meta.url))
    if (existsSync(`${directory}index.html`)) return directory
  }
  return undefined
}

/** Thrown (and answered with a 503) when the package was not built: the page is made at build time. */
const notBuiltMarker = 'llmpool.error.PageNotBuiltError'
const notBuiltSymbol = Symbol.for(notBuiltMarker)

export class PageNotBuiltError extends LLMPoolError<'page_not_built'> {
  private readonly [notBuiltSymbol] = true

  constructor() {
    super({
      code: 'page_not_built',
      message: "the dashboard's page is not built: run the @llmpool/dashboard package's build (`pnpm build`)",
    })
    this.name = 'PageNotBuiltError'
  }

  static override isInstance(error: unknown): error is PageNotBuiltError {
    return LLMPoolError.hasMarker(error, notBuiltMarker)
  }
}

/**
 * The page's three files, the HTML with its `<base href>` set to where the dashboard is mounted (so the page's
 * relative URLs work at `/dashboard` and `/dashboard/` alike). Read at the first request, then served from memory.
 */
export function loadAssets(basePath: string): Map<string, Asset> {
  const directory = pageDirectory()
  if (!directory) throw new PageNotBuiltError()
  const assets = new Map<string, Asset>()
  for (const [name, type] of Object.entries(TYPES)) {
    let body = readFileSync(`${directory}${name}`)
    if (name === 'index.html')
      body = Buffer.from(body.toString('utf8').replace('%BASE%', escapeAttribute(`${basePath}/`)))
    assets.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` })
  }
  return assets
}

const escapeAttribute = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
