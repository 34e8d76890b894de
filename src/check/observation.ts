/** How one command reached the server (or the kernel), whatever the method that saw it. */
export interface CommandObservation {
  connection: number;
  command: string;
  key: string | undefined;
  sizeBytes: number;
  /** Reads (recording) or segments (capture) that carried it. */
  writes: number;
  /** Largest gap between consecutive pieces, ms (capture: the stall, if any). */
  gapMs: number;
  /** Sizes and text of the pieces, when the method sees them. */
  pieces: { sizeBytes: number; text: string }[] | undefined;
  /** The capture method saw the delayed-ACK signature itself. */
  stalled: boolean;
}

export type CheckMethod = "recording" | "capture";

/** What one arrival is called under a method: a read of the recording server is a piece, a captured one a segment. */
export function arrivalUnit(method: CheckMethod): string {
  return method === "capture" ? "segment" : "piece";
}
