import { newTable } from "./table.js";
import type { ErrorCounts } from "../clients/errors.js";
import type { LatencySummaryUs } from "../metrics/histogram.js";
import type { ProbeResult } from "../probes/result.js";
import { fmtCount, fmtMs, fmtNum, fmtPattern, fmtPct, fmtRate, fmtUs } from "./format.js";

/** Human report of one probe run. */
export function renderProbe(r: ProbeResult): string {
  const out: string[] = [];
  out.push(
    `mcdiag probe ${r.endpoint}: ${fmtPattern(r.write, r.noDelay)}, health check ${r.healthCheck}, ` +
      `pool ${r.poolSize}, concurrency ${r.concurrency}, ${fmtMs(r.durationMs)}`,
  );
  const t = newTable(["phase", "p50", "p90", "p99", "p99.9", "max", "mean", "count"]);
  const row = (name: string, s: LatencySummaryUs) =>
    t.push(
      s.count === 0
        ? [name, "-", "-", "-", "-", "-", "-", "0"]
        : [name, fmtUs(s.p50), fmtUs(s.p90), fmtUs(s.p99), fmtUs(s.p999), fmtUs(s.max), fmtUs(s.mean), fmtCount(s.count)],
    );
  row("pool wait", r.poolWaitUs);
  if (r.healthCheckUs.count > 0) row("health check", r.healthCheckUs);
  row("wire", r.wireUs);
  row("total", r.totalUs);
  out.push(t.toString());
  out.push(
    `requests ${fmtCount(r.requests)}: ${fmtCount(r.hits)} hits, ${fmtCount(r.misses)} misses, ` +
      `${fmtCount(errorTotal(r.errors))} errors${errorList(r.errors)}; throughput ${fmtRate(r.throughputPerSec)}`,
  );
  out.push(
    `stalled (wire ≥ ${r.stallThresholdMs} ms): ${fmtCount(r.stalled)} of ${fmtCount(r.hits + r.misses)} (${fmtPct(r.stalledRatio)})` +
      (r.stalled > 0 ? `, typically ${fmtMs(r.typicalStallMs)}` : ""),
  );
  out.push(littlesLawLines(r));
  for (const [kind, msg] of Object.entries(r.errorSamples)) out.push(`  first ${kind}: ${msg}`);
  for (const w of r.warnings) out.push(`warning: ${w}`);
  if (r.aborted) out.push(`run stopped early: ${r.aborted}`);
  if (r.stalledRatio >= 0.05) out.push(adviceForStalls(r));
  return out.join("\n") + "\n";
}

export function littlesLawLines(r: ProbeResult): string {
  const l = r.littlesLaw;
  const lines = [
    `Little's law: ${fmtRate(l.arrivalPerSec)} × ${fmtUs(l.meanHoldUs)} held = ${fmtNum(l.busyConnections)} busy connections ` +
      `of ${l.poolSize} (${fmtPct(l.utilization)}); pool's own average ${fmtNum(l.sampledBusy)}`,
    `  waiting for a connection: λ × mean wait = ${fmtNum(l.meanWaiting)} callers; pool's own average ${fmtNum(l.sampledWaiting)}`,
  ];
  if (l.utilization >= 0.95) lines.push(`  the pool is saturated: callers queue for connections; pool wait is part of the latency`);
  return lines.join("\n");
}

function adviceForStalls(r: ProbeResult): string {
  if (r.write === "split" && !r.noDelay) {
    return (
      `advice: each command leaves in several writes with Nagle on, so the tail waits for the server's delayed ACK (~40 ms on Linux). ` +
      `Write each command in one buffer (or cork/uncork), or set TCP_NODELAY.`
    );
  }
  return `advice: requests stall although each command leaves whole; look at the server, the proxy, or the network path.`;
}

export function errorTotal(e: ErrorCounts): number {
  let n = 0;
  for (const v of Object.values(e)) n += v ?? 0;
  return n;
}

function errorList(e: ErrorCounts): string {
  const parts = Object.entries(e).map(([k, v]) => `${k} ${v}`);
  return parts.length > 0 ? ` (${parts.join(", ")})` : "";
}
