// Builds the dashboard's page into dist/page/: index.html, app.js (Preact, uPlot and the page's code in one module)
// and app.css, minified, with no reference to anything outside the package (no CDN: the page works offline).
// Run by the package's `build` after tsup (which empties dist/); `buildPage()` is also used by the browser tests.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

const packageDirectory = join(dirname(fileURLToPath(import.meta.url)), '..')

/** Builds the page; returns each file's size in bytes, raw and gzipped. */
export async function buildPage({ outdir = join(packageDirectory, 'dist', 'page'), quiet = false } = {}) {
  const result = await build({
    entryPoints: { app: join(packageDirectory, 'page', 'main.tsx') },
    bundle: true,
    format: 'esm',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    legalComments: 'eof',
    outdir,
    write: false,
    logLevel: 'warning',
  })
  mkdirSync(outdir, { recursive: true })
  const files = [
    ...result.outputFiles.map((file) => [file.path, Buffer.from(file.contents)]),
    [join(outdir, 'index.html'), readFileSync(join(packageDirectory, 'page', 'index.html'))],
  ]
  const sizes = {}
  for (const [path, contents] of files) {
    // Written aside, then renamed: a server reading the page meanwhile never sees half a file.
    const temporary = `${path}.${process.pid}.tmp`
    writeFileSync(temporary, contents)
    renameSync(temporary, path)
    sizes[relative(outdir, path)] = { bytes: contents.length, gzipBytes: gzipSync(contents).length }
  }
  if (!quiet) {
    const total = Object.values(sizes).reduce(
      (sum, size) => ({ bytes: sum.bytes + size.bytes, gzipBytes: sum.gzipBytes + size.gzipBytes }),
      { bytes: 0, gzipBytes: 0 },
    )
    const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`
    console.log(
      `dashboard page: ${Object.entries(sizes)
        .map(([name, size]) => `${name} ${kb(size.bytes)}`)
        .join(', ')}; ${kb(total.bytes)} in all, ${kb(total.gzipBytes)} gzipped`,
    )
  }
  return sizes
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await buildPage()
