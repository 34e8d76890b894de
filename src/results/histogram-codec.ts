import { inflateSync } from "node:zlib";
import * as hdr from "hdr-histogram-js";
import type { JsHistogram } from "hdr-histogram-js";
import { HISTOGRAM_SETTINGS, MERGED_BUCKET_BITS, type Histogram } from "../metrics/histogram.js";
import { McdiagError } from "../util/errors.js";

/**
 * Histograms travel between machines in HdrHistogram's compressed base64
 * encoding (V2: cookie, ZigZag-LEB128 counts, deflate, base64), which every
 * HdrHistogram port reads:
 *
 *   base64( int32 0x1c849314 | int32 deflatedLength | deflate(
 *     int32 0x1c849313 | int32 payloadLength | int32 0 | int32 digits |
 *     int64 lowest | int64 highest | int64 1 | ZigZag-LEB128 counts… ) )
 *
 * All integers are big-endian. A count below zero in the payload is a run of
 * that many empty buckets.
 */

/** Buckets a histogram with mcdiag's settings has (1 µs … 1 h, 3 digits). */
export const HISTOGRAM_BUCKETS = (hdr.build(HISTOGRAM_SETTINGS) as unknown as { countsArrayLength: number })
  .countsArrayLength;

const HEADER_BYTES = 40;
/** One LEB128-64b9B word is at most 9 bytes. */
const MAX_WORD_BYTES = 9;
/** The largest payload a histogram with mcdiag's settings can have, uncompressed. */
const MAX_UNCOMPRESSED_BYTES = HEADER_BYTES + HISTOGRAM_BUCKETS * MAX_WORD_BYTES;
/**
 * The longest encoded histogram accepted: the uncompressed maximum (deflate
 * adds at most a few bytes per 16 KiB block to data it cannot shrink) plus
 * the outer header, in base64. About 283,000 characters; a real run's
 * histogram is typically 0.5–2 kB.
 */
export const MAX_ENCODED_HISTOGRAM_CHARS = Math.ceil(((MAX_UNCOMPRESSED_BYTES * 1.01 + 64 + 8) * 4) / 3);

const COMPRESSED_COOKIE_BASE = 0x1c849304;
const UNCOMPRESSED_COOKIE_BASE = 0x1c849303;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** A histogram in HdrHistogram's compressed base64 encoding. */
export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

/**
 * Decodes a histogram written by `encodeHistogram` (or any HdrHistogram port
 * with the same settings). The input is checked before anything is
 * allocated from it: its length, the cookies, the settings (µs, 1 µs … 1 h,
 * 3 significant digits: a histogram with other settings would not merge
 * exactly), every count and the number of buckets. A histogram that does
 * not decode is a BAD_INPUT error naming `where`; nothing is dropped
 * silently. The result has 64-bit buckets, ready to be merged. With the
 * record's summary of the histogram, its count is checked and its exact
 * min and max are restored.
 */
export function decodeHistogram(encoded: unknown, where: string, summary?: HistogramSummaryFields): Histogram {
  const bad = (why: string) =>
    new McdiagError("BAD_INPUT", `${where}: the histogram does not decode: ${why}`, { where });
  if (typeof encoded !== "string") throw bad("not a string");
  if (encoded.length > MAX_ENCODED_HISTOGRAM_CHARS) {
    throw bad(`${encoded.length} characters, more than a histogram of mcdiag's settings can take`);
  }
  if (encoded.length === 0 || encoded.length % 4 !== 0 || !BASE64.test(encoded)) throw bad("not base64");
  const outer = Buffer.from(encoded, "base64");
  if (outer.length < 8) throw bad("shorter than its header");
  const cookie = outer.readInt32BE(0);
  if ((cookie & ~0xf0) !== COMPRESSED_COOKIE_BASE) throw bad("not HdrHistogram's compressed V2 encoding");
  const deflated = outer.readInt32BE(4);
  if (deflated < 0 || deflated > outer.length - 8) throw bad("truncated (its compressed length runs past the end)");
  let inner: Buffer;
  try {
    inner = inflateSync(outer.subarray(8, 8 + deflated), { maxOutputLength: MAX_UNCOMPRESSED_BYTES });
  } catch (err) {
    throw bad(`its compressed counts are corrupt (${(err as Error).message})`);
  }
  const total = checkPayload(inner, bad);
  // Valid by now: the library builds it, with the one set of settings.
  const h = hdr.decodeFromCompressedBase64(encoded, MERGED_BUCKET_BITS, false) as JsHistogram;
  if (h.totalCount !== total) throw bad(`its counts add up to ${total}, but it decoded to ${h.totalCount}`);
  if (summary !== undefined) restoreExtremes(h, summary, bad);
  return h;
}

/** The exact figures a record keeps beside each histogram (its summary of the same name). */
export interface HistogramSummaryFields {
  /** Checked when given. */
  count?: number;
  /** Restored when given. */
  min?: number;
  max: number;
}

/**
 * The encoding keeps bucket counts, so a decoded histogram's max and min are
 * its buckets' bounds (up to 0.1 % off), as in HdrHistogram's interval logs,
 * which carry the exact max beside each histogram for this reason. The
 * record's summary carries the exact ones: they are checked against the
 * buckets and put back, so percentiles (clamped to the max) and the max
 * itself come out as the run reported them.
 */
function restoreExtremes(h: JsHistogram, s: HistogramSummaryFields, bad: (why: string) => McdiagError): void {
  if (s.count !== undefined && s.count !== h.totalCount) {
    throw bad(`it holds ${h.totalCount} values, but its summary counts ${String(s.count)}`);
  }
  if (h.totalCount === 0) return;
  const inBucket = (exact: number, of: number) =>
    Number.isInteger(exact) && exact >= h.lowestEquivalentValue(of) && exact <= h.highestEquivalentValue(of);
  if (!inBucket(s.max, h.maxValue)) throw bad(`its summary's max ${String(s.max)} is not in its top bucket`);
  h.maxValue = s.max;
  if (s.min !== undefined && h.minNonZeroValue <= h.maxValue) {
    if (!inBucket(s.min, h.minNonZeroValue))
      throw bad(`its summary's min ${String(s.min)} is not in its lowest bucket`);
    h.minNonZeroValue = s.min;
  }
}

/** Checks the uncompressed V2 payload; returns the sum of its counts. */
function checkPayload(b: Buffer, bad: (why: string) => McdiagError): number {
  if (b.length < HEADER_BYTES) throw bad("shorter than its header");
  if ((b.readInt32BE(0) & ~0xf0) !== UNCOMPRESSED_COOKIE_BASE) throw bad("no V2 histogram inside");
  const payload = b.readInt32BE(4);
  if (payload < 0 || payload > b.length - HEADER_BYTES) throw bad("truncated (its payload runs past the end)");
  const digits = b.readInt32BE(12);
  const lowest = Number(b.readBigInt64BE(16));
  const highest = Number(b.readBigInt64BE(24));
  const s = HISTOGRAM_SETTINGS;
  if (
    digits !== s.numberOfSignificantValueDigits ||
    lowest !== s.lowestDiscernibleValue ||
    highest !== s.highestTrackableValue
  ) {
    throw bad(
      `its settings (lowest ${lowest}, highest ${highest}, ${digits} digits) are not mcdiag's ` +
        `(µs: ${s.lowestDiscernibleValue} … ${s.highestTrackableValue}, ${s.numberOfSignificantValueDigits} digits)`,
    );
  }
  let at = HEADER_BYTES;
  const end = HEADER_BYTES + payload;
  let bucket = 0;
  let total = 0;
  while (at < end) {
    // ZigZag LEB128-64b9B: 7 bits a byte for 8 bytes, then all 8 bits of a 9th.
    let raw = 0;
    let scale = 1;
    let n = 0;
    for (;;) {
      if (at >= end) throw bad("truncated inside a count");
      const byte = b[at++]!;
      n++;
      if (n === MAX_WORD_BYTES) {
        raw += byte * scale;
        break;
      }
      raw += (byte & 0x7f) * scale;
      scale *= 128;
      if ((byte & 0x80) === 0) break;
    }
    if (raw > Number.MAX_SAFE_INTEGER) throw bad("a count beyond 2^53");
    const value = raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
    if (value < 0) bucket += -value;
    else {
      bucket++;
      total += value;
    }
    if (bucket > HISTOGRAM_BUCKETS) throw bad(`more than the ${HISTOGRAM_BUCKETS} buckets of mcdiag's settings`);
  }
  if (total > Number.MAX_SAFE_INTEGER) throw bad("its total count is beyond 2^53");
  return total;
}

/** Each histogram of a run, encoded, under the same name. */
export function encodeHistograms<K extends string>(hs: Readonly<Record<K, Histogram>>): Record<K, string> {
  const out = {} as Record<K, string>;
  for (const name of Object.keys(hs) as K[]) out[name] = encodeHistogram(hs[name]);
  return out;
}

/**
 * The named histograms of a record, decoded. Each must be present, decode,
 * and agree with the record's summary of the same name (`record[name]`),
 * whose exact min and max it takes back; `where` (file and path in it)
 * prefixes the error.
 */
export function decodeHistograms<K extends string>(
  record: Record<string, unknown>,
  names: readonly K[],
  where: string,
): Record<K, Histogram> {
  const encoded = record.histograms;
  if (encoded === null || typeof encoded !== "object") {
    throw new McdiagError("BAD_INPUT", `${where}: no "histograms" (write the result with this mcdiag's --json)`, {
      where,
    });
  }
  const e = encoded as Record<string, unknown>;
  const out = {} as Record<K, Histogram>;
  for (const name of names) {
    if (e[name] === undefined) {
      throw new McdiagError("BAD_INPUT", `${where}: the histogram "${name}" is missing`, { where });
    }
    out[name] = decodeHistogram(e[name], `${where}.${name}`, summaryOf(record[name], `${where}: ${name}`));
  }
  return out;
}

function summaryOf(s: unknown, where: string): HistogramSummaryFields {
  const o = (s ?? {}) as Record<string, unknown>;
  for (const f of ["count", "min", "max"] as const) {
    if (typeof o[f] !== "number" || !Number.isFinite(o[f])) {
      throw new McdiagError("BAD_INPUT", `${where}: the summary has no numeric "${f}"`, { where });
    }
  }
  return o as unknown as HistogramSummaryFields;
}
