/** Numbers become strings here, and only here. */

/** Microseconds as a short human duration: "68 µs", "1.25 ms", "43.8 ms", "2.1 s". */
export function fmtUs(us: number): string {
  if (!Number.isFinite(us)) return "-";
  if (us < 1000) return `${Math.round(us)} µs`;
  if (us < 10_000) return `${(us / 1000).toFixed(2)} ms`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(1)} ms`;
  return `${(us / 1e6).toFixed(2)} s`;
}

export function fmtMs(ms: number): string {
  return fmtUs(ms * 1000);
}

/** A ratio as a percentage: 0.973 → "97.3 %", 1 → "100 %", 0 → "0 %". */
export function fmtPct(ratio: number): string {
  const p = ratio * 100;
  if (p === 0 || p === 100) return `${p} %`;
  if (p < 0.1) return "<0.1 %";
  return `${p.toFixed(1)} %`;
}

export function fmtCount(n: number): string {
  return n.toLocaleString("en-US");
}

export function fmtRate(perSec: number): string {
  return perSec >= 100 ? `${fmtCount(Math.round(perSec))}/s` : `${perSec.toFixed(1)}/s`;
}

export function fmtNum(x: number, digits = 2): string {
  return x.toFixed(digits);
}

/** "split + Nagle on", "coalesced + TCP_NODELAY" */
export function fmtPattern(write: string, noDelay: boolean): string {
  return `${write} + ${noDelay ? "TCP_NODELAY" : "Nagle on"}`;
}
