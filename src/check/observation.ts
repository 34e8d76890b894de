/** How one command reached the server (or the kernel), whatever the method that saw it. */
export interface CommandObservation {
  connection: number;
  command: string;
  key: string | undefined;
  sizeBytes: number;
  /** Writes (in-process), reads (recording) or segments (capture) that carried it. */
  writes: number;
  /** Largest gap between consecutive pieces, ms (capture: the stall, if any). */
  gapMs: number;
  /** Sizes and text of the pieces, when the method sees them. */
  pieces: { sizeBytes: number; text: string }[] | undefined;
  /** The capture method saw the delayed-ACK signature itself. */
  stalled: boolean;
}

export type CheckMethod = "recording" | "capture" | "in-process";
