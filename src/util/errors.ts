/**
 * Typed errors with a stable code. The library throws these; only the CLI
 * turns a code into an exit status and a one-line message.
 */
export type McdiagErrorCode =
  | "BAD_OPTION" // an option value is malformed (names the option)
  | "BAD_KEY" // a memcached key is not valid
  | "BAD_ENDPOINT" // host:port could not be parsed
  | "UNREACHABLE" // could not connect to the endpoint
  | "ALL_FAILED" // the run completed but no request succeeded
  | "BAD_INPUT" // an input file is unreadable or not what it claims
  | "CANNOT_WRITE" // an output file (--hgrm, --junit, --html, …) cannot be written
  | "SERVER_START"; // the embedded server could not listen

export class McdiagError extends Error {
  readonly code: McdiagErrorCode;
  /** Extra machine-readable facts (the bad value, a byte offset, an endpoint). */
  readonly detail: Record<string, unknown>;

  constructor(code: McdiagErrorCode, message: string, detail: Record<string, unknown> = {}) {
    super(message);
    this.name = "McdiagError";
    this.code = code;
    this.detail = detail;
  }
}

export function isMcdiagError(err: unknown): err is McdiagError {
  return err instanceof McdiagError;
}

/**
 * An error as it crosses from a worker thread to the main one: its code when
 * it is a McdiagError, and one line of text (no stack crosses over).
 */
export interface ThreadError {
  code?: McdiagErrorCode;
  message: string;
}

export function toThreadError(err: unknown): ThreadError {
  const message = err instanceof Error ? err.message : String(err);
  return isMcdiagError(err) ? { code: err.code, message } : { message };
}

/**
 * The error the main thread throws for a worker's: a McdiagError as it was
 * (its exit code kept), anything else as an internal error, said to come
 * from `where` (a worker thread, the input it was reading).
 */
export function fromThreadError(e: ThreadError, where: string): Error {
  return e.code !== undefined ? new McdiagError(e.code, e.message) : new Error(`${where}: ${e.message}`);
}
