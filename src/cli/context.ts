/** What a command needs from the process, given by main (the only place that exits). */
export interface CliContext {
  exitCode: number;
  out(text: string): void;
  err(text: string): void;
  /** Aborted on SIGINT/SIGTERM: long runs stop and report what they measured. */
  signal: AbortSignal;
}

export function printJson(ctx: CliContext, value: unknown): void {
  ctx.out(JSON.stringify(value, null, 2) + "\n");
}
