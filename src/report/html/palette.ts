import { fmtPattern } from "../format.js";

/**
 * Colours from the Okabe–Ito palette, which stays distinguishable with the
 * common colour-vision deficiencies; lines also differ by dash.
 */
export const COLORS = {
  blue: "#0072B2",
  vermillion: "#D55E00",
  orange: "#E69F00",
  green: "#009E73",
  sky: "#56B4E9",
  purple: "#CC79A7",
  yellow: "#B59A00",
  black: "#000000",
  grey: "#8C8C8C",
} as const;

/** Probe request categories (timeline.ts PROBE_CATEGORIES), in their order. */
export const CATEGORY_COLORS: Record<string, string> = {
  answered: COLORS.blue,
  stalled: COLORS.vermillion,
  failed: COLORS.black,
};

/** Analyze causes, and "none" for requests that were not slow. */
export const CAUSE_COLORS: Record<string, string> = {
  none: COLORS.blue,
  "delayed-ack": COLORS.vermillion,
  retransmission: COLORS.orange,
  "zero-window": COLORS.purple,
  server: COLORS.green,
  connect: COLORS.sky,
  unexplained: COLORS.grey,
};

const PATTERN_STYLES: Record<string, { color: string; dash?: number[] }> = {
  "split + Nagle on": { color: COLORS.vermillion },
  "split + TCP_NODELAY": { color: COLORS.orange, dash: [8, 4] },
  "coalesced + Nagle on": { color: COLORS.blue },
  "coalesced + TCP_NODELAY": { color: COLORS.green, dash: [8, 4] },
  "corked + Nagle on": { color: COLORS.purple, dash: [2, 3] },
  "corked + TCP_NODELAY": { color: COLORS.sky, dash: [2, 3] },
};

export function patternStyle(write: string, noDelay: boolean): { label: string; color: string; dash?: number[] } {
  const label = fmtPattern(write, noDelay);
  return { label, ...(PATTERN_STYLES[label] ?? { color: COLORS.grey }) };
}

/** Line styles for a list of series (phases, percentiles), in order. */
export const SERIES_STYLES: { color: string; dash?: number[] }[] = [
  { color: COLORS.blue },
  { color: COLORS.vermillion, dash: [8, 4] },
  { color: COLORS.green },
  { color: COLORS.black, dash: [2, 3] },
  { color: COLORS.orange },
  { color: COLORS.purple, dash: [8, 4] },
  { color: COLORS.sky },
];
