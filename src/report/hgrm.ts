import { writeFileSync } from "node:fs";
import type { Histogram } from "../metrics/histogram.js";

/**
 * Writes a histogram in HdrHistogram's percentile-distribution text format
 * (what the HdrHistogram plotter reads), values in milliseconds.
 */
export function writeHgrm(file: string, h: Histogram): void {
  writeFileSync(file, h.outputPercentileDistribution(5, 1000));
}
