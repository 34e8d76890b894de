import type { Histogram } from "../metrics/histogram.js";

/**
 * A histogram in HdrHistogram's percentile-distribution text format (what the
 * HdrHistogram plotter reads), values in milliseconds.
 */
export function hgrmText(h: Histogram): string {
  return h.outputPercentileDistribution(5, 1000);
}
