/** Builds the page into `outdir` (default: the package's dist/page); returns each file's size, raw and gzipped. */
export function buildPage(options?: { outdir?: string; quiet?: boolean }): Promise<Record<string, { bytes: number; gzipBytes: number }>>
