/** What a command needs from the process, given by main (the only place that exits). */
export interface CliContext {
  exitCode: number;
  out(text: string): void;
  err(text: string): void;
  /**
   * Aborted on the first SIGINT/SIGTERM: long runs stop within a second and
   * return what they measured, marked interrupted; main then exits 130.
   */
  signal: AbortSignal;
  /** For commands whose normal way to stop is the signal (`serve`): main exits 0, not 130. */
  signalIsStop: boolean;
  /**
   * Set by `parseCommandLine`: a command that supports it checks its options
   * as it would for a run, hands over what it would run, and stops there.
   */
  parseOnly?: (settings: object) => void;
}

export function printJson(ctx: CliContext, value: unknown): void {
  ctx.out(jsonText(value));
}

/** JSON as every command prints it (and `--json-file` writes it). */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}
