/**
 * One status line on stderr, redrawn in place, only when stderr is a
 * terminal and the output is not JSON for a machine.
 */
export class Progress {
  private readonly enabled: boolean;
  private shown = false;

  constructor(json: boolean) {
    this.enabled = !json && process.stderr.isTTY === true;
  }

  update(text: string): void {
    if (!this.enabled) return;
    process.stderr.write(`\r\x1b[2K${text}`);
    this.shown = true;
  }

  done(): void {
    if (this.enabled && this.shown) process.stderr.write("\r\x1b[2K");
    this.shown = false;
  }
}
