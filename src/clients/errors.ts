/**
 * Kinds of failed request, counted in a run's error set. A failed request is
 * data, never an abort (vegeta's Error Set).
 */
export type ErrorKind =
  | "connect_refused"
  | "connect_timeout"
  | "connect_error"
  | "acquire_timeout" // waited for a pooled connection longer than the timeout
  | "healthcheck_failed" // the health check got an unexpected answer
  | "timeout" // a request got no complete response in time
  | "closed" // the server closed the connection mid-request
  | "reset" // the connection was reset
  | "protocol_error" // bytes no memcached server sends
  | "server_error" // SERVER_ERROR …
  | "client_error" // CLIENT_ERROR …
  | "error"; // ERROR: the server does not know the command

export type ErrorCounts = Partial<Record<ErrorKind, number>>;

/** A failure of one connection or request, with the kind it is counted under. */
export class KindError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** Maps a socket error to its kind. */
export function socketErrorKind(err: NodeJS.ErrnoException | undefined, connecting: boolean): ErrorKind {
  const code = err?.code;
  if (connecting) {
    if (code === "ECONNREFUSED") return "connect_refused";
    if (code === "ETIMEDOUT") return "connect_timeout";
    return "connect_error";
  }
  if (code === "ECONNRESET" || code === "EPIPE") return "reset";
  return "closed";
}

/** A connection-level failure (as opposed to an answer the server chose to give). */
export function isConnectionFailure(kind: ErrorKind): boolean {
  return (
    kind === "connect_refused" ||
    kind === "connect_timeout" ||
    kind === "connect_error" ||
    kind === "closed" ||
    kind === "reset" ||
    kind === "healthcheck_failed" ||
    kind === "protocol_error"
  );
}
