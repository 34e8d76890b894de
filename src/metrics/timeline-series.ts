/**
 * The JSON form of a timeline (see timeline.ts): plain types with no Node
 * dependency, shared with the HTML report's browser script.
 */

/** Points as little-endian typed arrays in base64: Float32 ms and µs, Uint8 categories. */
export interface TimelineDots {
  count: number;
  /** Request start, ms since the run's start (Float32Array). */
  tMs: string;
  /** Its latency, µs (Float32Array). */
  latencyUs: string;
  /** Index into `categories` (Uint8Array). */
  category: string;
}

export interface TimelineBands {
  bucketMs: number;
  /** Start of each bucket, ms since the run's start (buckets with no request are left out). */
  startMs: number[];
  count: number[];
  minUs: number[];
  p50Us: number[];
  p99Us: number[];
  maxUs: number[];
}

/** The JSON form: what `report` draws "latency over time" from. */
export interface TimelineSeries {
  mode: "dots" | "bands";
  requests: number;
  /** Names of the categories, index 0 the unremarkable one. */
  categories: string[];
  /** Requests per category. */
  byCategory: number[];
  /** Every request ("dots"), or those of a category other than 0 ("bands"). */
  dots: TimelineDots;
  /** Requests of a category other than 0 beyond NOTABLE_LIMIT (bands only). */
  dotsOmitted: number;
  bands?: TimelineBands;
  /** Requests that finished after their bucket had been folded: in its count, min and max, not its percentiles. */
  lateRequests?: number;
}
