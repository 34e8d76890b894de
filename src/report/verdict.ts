import type { CompareFindings } from "../probes/compare.js";
import { fmtMs, fmtPattern, fmtPct, fmtUs } from "./format.js";

/** The compare verdict in plain words. */
export function compareVerdict(f: CompareFindings): string {
  if (f.stalling.length === 0) {
    const best = f.clean[0];
    return (
      "no write pattern stalled: this path does not show the Nagle/delayed-ACK stall" +
      (best ? ` (fastest: ${fmtPattern(best.write, best.noDelay)}, p50 ${fmtUs(best.wireP50Us)})` : "") +
      ". A proxy that ACKs at once, or a server that answers partial commands, can hide it."
    );
  }
  const parts = f.stalling.map(
    (s) =>
      `${s.write} writes with ${s.noDelay ? "TCP_NODELAY" : "Nagle on"} stall ${fmtPct(s.stalledRatio)} of requests for ~${fmtMs(s.typicalStallMs)}`,
  );
  if (f.nagleSignature) {
    const fix = f.clean.find((c) => c.write !== "split") ?? f.clean[0]!;
    return (
      `${parts.join("; ")}; coalesce each command into one write or set TCP_NODELAY ` +
      `(${fmtPattern(fix.write, fix.noDelay)}: p50 ${fmtUs(fix.wireP50Us)})`
    );
  }
  if (f.clean.length === 0) {
    return `${parts.join("; ")}: every pattern stalls, so the write pattern is not the cause; look at the server, the proxy or the network`;
  }
  return `${parts.join("; ")}; patterns without stalls: ${f.clean.map((c) => fmtPattern(c.write, c.noDelay)).join(", ")}`;
}
