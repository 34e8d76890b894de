import { Connection, ConnectError } from "../clients/connection.js";
import { Pool, type HealthCheck } from "../clients/pool.js";
import type { WriteStrategy } from "../clients/connection.js";
import { requestOnce, RequestError } from "../clients/request.js";
import type { PreparedCommand } from "../protocol/commands.js";
import { McdiagError } from "../util/errors.js";
import { seedValue, setCommands } from "./keys.js";

export interface SetupOptions {
  host: string;
  port: number;
  connectTimeoutMs: number;
  timeoutMs: number;
  seed: boolean;
  valueSizeBytes: number;
}

/** Checks the endpoint answers at all, and seeds the probe's keys. */
export async function prepareEndpoint(
  opts: SetupOptions,
  endpoint: string,
  keys: string[],
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
    for (const cmd of setCommands(keys, seedValue(opts.valueSizeBytes))) {
      const res = await requestOnce(conn, cmd, opts.timeoutMs);
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
 * Opens `count` pooled connections and sends a few unmeasured gets on each,
 * so the measured run sees connections past Linux's quick-ack phase, as
 * long-lived pooled connections are in production.
 */
export async function warmUp(
  pool: Pool,
  commands: PreparedCommand[],
  count: number,
  rounds: number,
  timeoutMs: number,
  endpoint: string,
): Promise<void> {
  let conns: Connection[];
  try {
    conns = await pool.prefill(count);
  } catch (err) {
    throw new McdiagError("UNREACHABLE", `cannot open pooled connections to ${endpoint}: ${connectReason(err)}`, {
      endpoint,
    });
  }
  await Promise.all(
    conns.map(async (conn, i) => {
      for (let k = 0; k < rounds && !conn.closed; k++) {
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

export interface ProbePoolOptions {
  host: string;
  port: number;
  poolSize: number;
  noDelay: boolean;
  write: WriteStrategy;
  healthCheck: HealthCheck;
  connectTimeoutMs: number;
  timeoutMs: number;
}

/** The pool a probe measures through: `--timeout` bounds both the wait for a connection and each request. */
export function probePool(opts: ProbePoolOptions): Pool {
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
  });
}
