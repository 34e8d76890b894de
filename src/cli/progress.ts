import cliProgress from "cli-progress";

/**
 * Progress on stderr, only when stderr is a terminal and the output is not
 * JSON for a machine: a bar when the total is known, a status line otherwise.
 */
export class Progress {
  private readonly enabled: boolean;
  private bar: cliProgress.SingleBar | undefined;
  private shown = false;

  constructor(json: boolean) {
    this.enabled = !json && process.stderr.isTTY === true;
  }

  /** A bar for `fraction` (0…1) of the work, with a label. */
  fraction(fraction: number, label: string): void {
    if (!this.enabled) return;
    if (this.bar === undefined) {
      this.bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: " {bar} {percentage}% | {label}",
          hideCursor: true,
          clearOnComplete: true,
          barsize: 30,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(1000, 0, { label });
    }
    this.bar.update(Math.round(Math.min(1, Math.max(0, fraction)) * 1000), { label });
  }

  update(text: string): void {
    if (!this.enabled) return;
    process.stderr.write(`\r\x1b[2K${text}`);
    this.shown = true;
  }

  done(): void {
    if (!this.enabled) return;
    this.bar?.stop();
    this.bar = undefined;
    if (this.shown) process.stderr.write("\r\x1b[2K");
    this.shown = false;
  }
}
