import { performance } from "node:perf_hooks";
import type { PreparedCommand } from "../protocol/commands.js";
import type { ParsedResponse } from "../protocol/response-parser.js";
import type { Connection, RequestHandler } from "./connection.js";
import { KindError } from "./errors.js";

/** A copy of a response, safe to keep (the parser's record is reused). */
export type ResponseSnapshot = Pick<ParsedResponse, "kind" | "values" | "valueBytes" | "message">;

/** A lone request failed. */
export class RequestError extends KindError {}

/**
 * Sends one command and resolves with its response: for set-up work (seeding,
 * warm-up, stats), not for the measured loop, which reuses handler objects.
 */
export function requestOnce(conn: Connection, cmd: PreparedCommand, timeoutMs: number): Promise<ResponseSnapshot> {
  return new Promise((resolve, reject) => {
    // The pool's sweep enforces deadlines for pooled connections; a lone
    // connection needs its own timer.
    const timer = setTimeout(() => conn.checkDeadline(performance.now()), timeoutMs + 5);
    const handler: RequestHandler = {
      onResponse(_c, res: ParsedResponse) {
        clearTimeout(timer);
        resolve({ kind: res.kind, values: res.values, valueBytes: res.valueBytes, message: res.message });
      },
      onFailure(_c, kind, message) {
        clearTimeout(timer);
        reject(new RequestError(kind, message));
      },
    };
    conn.send(cmd, handler, timeoutMs, performance.now());
  });
}
