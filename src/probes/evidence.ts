import net from "node:net";
import { readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { statsCommand } from "../protocol/commands.js";
import { ResponseParser } from "../protocol/response-parser.js";
import type { SetupOptions } from "./setup.js";

/** Counters read before and after a run, and what changed. */
export interface Evidence {
  /** memcached `stats` deltas (after − before), or null when the endpoint does not answer `stats`. */
  stats: Record<string, number> | null;
  statsNote?: string;
  /** TcpExt delayed-ACK counters from /proc/net/netstat (deltas), or null when the endpoint is not on this host. */
  kernel: Record<KernelCounter, number> | null;
  kernelNote?: string;
}

export interface Snapshot {
  stats: Record<string, number> | undefined;
  statsError: string | undefined;
  kernel: Record<string, number> | undefined;
}

/** The memcached stats a pool and connection investigation needs. */
const STATS = [
  "curr_connections",
  "total_connections",
  "listen_disabled_num",
  "conn_yields",
  "rejected_connections",
  "cmd_get",
  "get_hits",
  "get_misses",
];
/** TcpExt delayed-ACK counters, then what corroborates loss: Tcp RetransSegs and TcpExt loss probes, timeouts, SYN retries. */
const KERNEL = [
  "DelayedACKs",
  "DelayedACKLocked",
  "DelayedACKLost",
  "RetransSegs",
  "TCPLossProbes",
  "TCPTimeouts",
  "TCPSynRetrans",
] as const;
export type KernelCounter = (typeof KERNEL)[number];

export async function snapshot(host: string, port: number, timeoutMs: number): Promise<Snapshot> {
  const s = await fetchStats(host, port, timeoutMs);
  return {
    stats: "error" in s ? undefined : s.values,
    statsError: "error" in s ? s.error : undefined,
    kernel: isLocalHost(host) ? readTcpExt() : undefined,
  };
}

/** Where and whether a run reads its evidence. */
export interface EvidenceOptions extends Pick<SetupOptions, "host" | "port" | "timeoutMs" | "signal"> {
  /** Read server `stats` and kernel counters before and after (default true). */
  evidence?: boolean;
}

/**
 * Snapshots the counters now; the returned function snapshots them again
 * and gives the deltas. Both probe loops bracket their measured run with it.
 * Undefined when evidence is turned off or the run was already interrupted.
 */
export async function watchEvidence(
  opts: EvidenceOptions,
  endpoint: string,
): Promise<(() => Promise<Evidence>) | undefined> {
  if (opts.evidence === false || opts.signal?.aborted) return undefined;
  const { host, port, timeoutMs } = opts;
  const before = await snapshot(host, port, timeoutMs);
  return async () => evidenceFrom(before, await snapshot(host, port, timeoutMs), endpoint);
}

export function evidenceFrom(before: Snapshot, after: Snapshot, endpoint: string): Evidence {
  const ev: Evidence = { stats: null, kernel: null };
  if (before.stats && after.stats) {
    const keys = STATS.filter((k) => k in after.stats!);
    // A proxy answers its own names: keep whatever numeric counters it gives.
    const use = keys.length > 0 ? keys : Object.keys(after.stats).slice(0, 50);
    ev.stats = {};
    for (const k of use) ev.stats[k] = (after.stats[k] ?? 0) - (before.stats[k] ?? 0);
  } else {
    ev.statsNote = `${endpoint} did not answer 'stats' (${before.statsError ?? after.statsError}); server counters are not shown`;
  }
  if (before.kernel && after.kernel) {
    const a = after.kernel;
    const b = before.kernel;
    ev.kernel = Object.fromEntries(KERNEL.map((k) => [k, (a[k] ?? 0) - (b[k] ?? 0)])) as Record<KernelCounter, number>;
    ev.kernelNote = "counts every delayed ACK this host sent during the run, this probe's and any other traffic's";
  } else {
    ev.kernelNote = `${endpoint} is not on this host (or /proc/net/netstat is unreadable): kernel delayed-ACK counters are not shown`;
  }
  return ev;
}

/** `stats` on a fresh connection; numeric values only. */
function fetchStats(
  host: string,
  port: number,
  timeoutMs: number,
): Promise<{ values: Record<string, number> } | { error: string }> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port, noDelay: true });
    let done = false;
    const finish = (r: { values: Record<string, number> } | { error: string }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ error: `no answer within ${timeoutMs} ms` }), timeoutMs);
    const parser = new ResponseParser(
      (res) => {
        if (res.kind !== "stats")
          return finish({
            error: res.kind === "error" ? "ERROR: unknown command" : `${res.kind} ${res.message}`.trim(),
          });
        const values: Record<string, number> = {};
        for (const [k, v] of Object.entries(res.stats)) {
          const n = Number(v);
          if (v !== "" && Number.isFinite(n)) values[k] = n;
        }
        finish({ values });
      },
      { collect: true },
    );
    sock.on("data", (d: Buffer) => parser.push(d));
    sock.on("error", (e: NodeJS.ErrnoException) => finish({ error: e.code ?? e.message }));
    sock.on("close", () => finish({ error: "the connection was closed" }));
    sock.on("connect", () => sock.write(statsCommand().whole));
  });
}

/** TcpExt (/proc/net/netstat) and Tcp (/proc/net/snmp) counters of this network namespace. */
export function readTcpExt(): Record<string, number> | undefined {
  const out: Record<string, number> = {};
  let found = false;
  for (const [file, prefix] of [
    ["/proc/net/netstat", "TcpExt:"],
    ["/proc/net/snmp", "Tcp:"],
  ] as const) {
    try {
      const lines = readFileSync(file, "utf8").split("\n");
      for (let i = 0; i + 1 < lines.length; i++) {
        if (!lines[i]!.startsWith(prefix) || !lines[i + 1]!.startsWith(prefix)) continue;
        const names = lines[i]!.split(/\s+/).slice(1);
        const values = lines[i + 1]!.split(/\s+/).slice(1).map(Number);
        names.forEach((n, j) => {
          if ((KERNEL as readonly string[]).includes(n)) out[n] = values[j]!;
        });
        found = true;
        break;
      }
    } catch {
      // not Linux, or /proc not mounted
    }
  }
  return found ? out : undefined;
}

/** Loopback or an address of one of this host's interfaces. */
export function isLocalHost(host: string): boolean {
  if (host === "localhost" || host === "::1" || /^127\./.test(host)) return true;
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.address === host) return true;
  }
  return false;
}
