import type { CompareFindings } from "../probes/compare.js";
import { errorList } from "./probe-report.js";
import { fmtMs, fmtPattern, fmtPct, fmtUs } from "./format.js";

/** The compare verdict in plain words. Failed patterns come first: they make the rest doubtful. */
export function compareVerdict(f: CompareFindings): string {
  const failed = f.failed.map((x) => `${fmtPattern(x.write, x.noDelay)} (${errorList(x.errors)})`);
  const unhealthy = f.unhealthy.map((x) => `${fmtPattern(x.write, x.noDelay)} (${x.problems[0] ?? "unhealthy"})`);
  const doubts = [
    ...(failed.length > 0 ? [`every request failed in ${failed.join("; ")}`] : []),
    ...(unhealthy.length > 0 ? [`not healthy: ${unhealthy.join("; ")}`] : []),
  ];
  const failedText = doubts.length === 0 ? "" : `cannot be trusted: ${doubts.join("; ")}. `;
  if (f.stalling.length === 0 && f.clean.length === 0) {
    return failed.length > 0 ? `${failedText}No pattern got an answer, so there is nothing to compare` : "no run";
  }
  if (f.stalling.length === 0) {
    const best = f.clean[0];
    return (
      failedText +
      "no write pattern stalled: this path does not show the Nagle/delayed-ACK stall" +
      (best ? ` (fastest: ${fmtPattern(best.write, best.noDelay)}, p50 ${fmtUs(best.wireP50Us)})` : "") +
      ". A proxy that ACKs at once, or a server that answers partial commands, can hide it."
    );
  }
  const parts = f.stalling.map(
    (s) =>
      `${s.write} writes with ${s.noDelay ? "TCP_NODELAY" : "Nagle on"} stall ${fmtPct(s.stalledRatio)} of requests for ~${fmtMs(s.typicalStallMs)}`,
  );
  if (f.nagleSignature && doubts.length === 0) {
    const fix = f.clean.find((c) => c.write !== "split") ?? f.clean[0]!;
    return (
      failedText +
      `${parts.join("; ")}; coalesce each command into one write or set TCP_NODELAY ` +
      `(${fmtPattern(fix.write, fix.noDelay)}: p50 ${fmtUs(fix.wireP50Us)})`
    );
  }
  if (f.clean.length === 0 || doubts.length > 0) {
    if (doubts.length > 0) {
      return `${failedText}${parts.join("; ")}; not every pattern ran clean and healthy, so this comparison cannot tell whether the write pattern is the cause`;
    }
    return `${parts.join("; ")}: every pattern stalls, so the write pattern is not the cause; look at the server, the proxy or the network`;
  }
  return `${failedText}${parts.join("; ")}; patterns without stalls: ${f.clean.map((c) => fmtPattern(c.write, c.noDelay)).join(", ")}`;
}
