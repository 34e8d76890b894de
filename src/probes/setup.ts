import { Connection, ConnectError } from "../clients/connection.js";
import { Pool, type PoolOptions } from "../clients/pool.js";
import { requestOnce, RequestError } from "../clients/request.js";
import { McdiagError } from "../util/errors.js";
import { seedValue, warmUpCommands } from "./keys.js";
import { setCommand } from "../protocol/commands.js";
import { keyAt, type KeySpace } from "../protocol/get-frame.js";
import type { Recorder } from "./recorder.js";

/** How a probe reaches its endpoint: the pool's options in the probe's terms, for every kind of run. */
export interface ProbePoolOptions extends Pick<
  PoolOptions,
  "host" | "port" | "noDelay" | "write" | "healthCheck" | "connectTimeoutMs"
> {
  /** Connections in the pool. */
  poolSize: number;
  /** Per request, and per wait for a pooled connection. */
  timeoutMs: number;
}

/** What the endpoint is checked and seeded with before a run. */
export interface SetupOptions extends Pick<ProbePoolOptions, "host" | "port" | "connectTimeoutMs" | "timeoutMs"> {
  /** Write the probe's keys first. */
  seed: boolean;
  valueSizeBytes: number;
  /** Aborting stops seeding at the next key, and stops a run issuing requests: it drains and reports what it measured. */
  signal?: AbortSignal;
}

/**
 * Checks the endpoint answers at all, and seeds the probe's keys: one `set`
 * built and sent at a time, so memory holds one value whatever --keys ×
 * --value-size is, and Ctrl-C stops it between two keys.
 */
export async function prepareEndpoint(
  opts: SetupOptions,
  endpoint: string,
  keys: KeySpace,
  warnings: string[],
): Promise<void> {
  let conn: Connection;
  try {
    conn = await Connection.open({
      host: opts.host,
      port: opts.port,
      noDelay: true,
      write: "coalesced",
      connectTimeoutMs: opts.connectTimeoutMs,
    });
  } catch (err) {
    throw new McdiagError("UNREACHABLE", `cannot connect to ${endpoint}: ${connectReason(err)}`, { endpoint });
  }
  try {
    if (!opts.seed) return;
    const value = seedValue(opts.valueSizeBytes);
    for (let i = 0; i < keys.count; i++) {
      if (opts.signal?.aborted) break;
      const res = await requestOnce(conn, setCommand(keyAt(keys, i), value), opts.timeoutMs);
      if (res.kind !== "stored") {
        warnings.push(
          `seeding: ${endpoint} answered '${res.kind}${res.message ? " " + res.message : ""}' to set; gets may miss`,
        );
        if (res.kind === "error") break;
      }
    }
  } catch (err) {
    if (err instanceof RequestError) {
      throw new McdiagError("UNREACHABLE", `${endpoint} failed while seeding keys: ${err.kind} (${err.message})`, {
        endpoint,
      });
    }
    throw err;
  } finally {
    conn.end();
  }
}

/**
 * Opens `count` pooled connections and sends a few unmeasured gets on each
 * (of the first keys),
 * so the measured run sees connections past Linux's quick-ack phase, as
 * long-lived pooled connections are in production.
 */
export async function warmUp(
  pool: Pool,
  keys: KeySpace,
  count: number,
  rounds: number,
  timeoutMs: number,
  endpoint: string,
  signal?: AbortSignal,
): Promise<void> {
  let conns: Connection[];
  try {
    conns = await pool.prefill(count);
  } catch (err) {
    throw new McdiagError("UNREACHABLE", `cannot open pooled connections to ${endpoint}: ${connectReason(err)}`, {
      endpoint,
    });
  }
  const commands = warmUpCommands(keys, 16);
  await Promise.all(
    conns.map(async (conn, i) => {
      for (let k = 0; k < rounds && !conn.closed && signal?.aborted !== true; k++) {
        try {
          await requestOnce(conn, commands[(i + k) % commands.length]!, timeoutMs);
        } catch {
          return; // a warm-up failure is not measured; the run will meet and count it
        }
      }
    }),
  );
}

function connectReason(err: unknown): string {
  return err instanceof ConnectError ? `${err.kind.replace(/_/g, " ")} (${err.message})` : String(err);
}

/**
 * The pool a probe measures through: `--timeout` bounds both the wait for a
 * connection and each request. Replies that answered no request are counted
 * by the recorder.
 */
export function probePool(opts: ProbePoolOptions, rec: Recorder): Pool {
  return new Pool({
    host: opts.host,
    port: opts.port,
    size: opts.poolSize,
    noDelay: opts.noDelay,
    write: opts.write,
    healthCheck: opts.healthCheck,
    connectTimeoutMs: opts.connectTimeoutMs,
    acquireTimeoutMs: opts.timeoutMs,
    requestTimeoutMs: opts.timeoutMs,
    onStrayReply: (_conn, message) => rec.strayReply(message),
  });
}

/** How often a run reports its progress. */
const PROGRESS_INTERVAL_MS = 500;

/** Calls `report` with a fresh snapshot every PROGRESS_INTERVAL_MS; undefined when nobody listens. */
export function reportProgress<T>(report: ((p: T) => void) | undefined, snapshot: () => T): NodeJS.Timeout | undefined {
  return report === undefined ? undefined : setInterval(() => report(snapshot()), PROGRESS_INTERVAL_MS);
}

/**
 * Resolves when `work` does, or `graceMs` after `signal` aborts, whichever
 * comes first: an interrupted run stops waiting for requests that may never
 * finish. Leaves no timer or listener behind.
 */
export function untilAbortedOr(
  work: Promise<unknown>,
  signal: AbortSignal | undefined,
  graceMs: number,
): Promise<void> {
  if (signal === undefined) return work.then(() => undefined);
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      if (timer !== undefined) clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      resolve();
    };
    const onAbort = () => {
      timer ??= setTimeout(done, graceMs);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    work.then(done, done);
  });
}

/** A pause that ends early (resolving) when `signal` aborts, leaving no timer behind. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
