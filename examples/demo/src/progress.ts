/** A progress bar: redrawn in place on a terminal, a line every 10 % elsewhere (CI logs). */
export class Progress {
  private lastDecile = -1
  private lastDraw = 0

  constructor(
    private readonly total: number,
    private readonly out: NodeJS.WriteStream,
  ) {}

  update(done: number, failed: number): void {
    if (this.out.isTTY) {
      const now = Date.now()
      if (now - this.lastDraw < 50 && done < this.total) return
      this.lastDraw = now
      const width = 30
      const filled = Math.round((done / this.total) * width)
      this.out.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total}  failed ${failed}  `)
      return
    }
    const decile = Math.floor((done / this.total) * 10)
    if (decile !== this.lastDecile) {
      this.lastDecile = decile
      this.out.write(`progress: ${done}/${this.total} (${decile * 10} %), failed ${failed}\n`)
    }
  }

  done(): void {
    if (this.out.isTTY) this.out.write('\n')
  }
}
