import * as hdr from "hdr-histogram-js";
import type { Histogram } from "../metrics/histogram.js";
import { decodeHistogram, encodeHistogram, type HistogramSummaryFields } from "./histogram-codec.js";
import { mergeHistograms } from "./merge.js";

/**
 * HdrHistogram interval logs (format 1.3), as memtier_benchmark and
 * HdrHistogram's own HistogramLogWriter write them: a header, then one line
 * per histogram per interval, tagged with the histogram's name:
 *
 *   #[Histogram log format version 1.3]
 *   #[StartTime: 1767225600.123 (seconds since epoch), 2026-01-01T00:00:00.123Z]
 *   #[BaseTime: 1767225600.123 (seconds since epoch)]
 *   "StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"
 *   Tag=latencyUs,0.000,1.000,2.113,HISTFAAAA…
 *
 * Timestamps are seconds after BaseTime; values are µs, and Interval_Max is
 * in ms. Any HdrHistogram log reader (HistogramLogReader, HdrHistogram's
 * LogAnalyzer, the plotters) reads it.
 */

/** One interval of a run: its place and its span on the wall clock. */
export interface Interval {
  /** 0 for the first second of the run. */
  index: number;
  /** Wall clock, epoch ms. */
  startMs: number;
  endMs: number;
}

/**
 * Receives an interval's histograms one at a time (one per event-loop turn
 * of the run); `last` marks the interval's last one. The histogram is valid
 * only during the call.
 */
export type IntervalSink = (iv: Interval, tag: string, h: Histogram, last: boolean) => void;

/** One interval with its histograms encoded, and their exact count, min and max (from worker threads). */
export interface IntervalSnapshot extends Interval {
  histograms: Record<string, { encoded: string } & HistogramSummaryFields>;
}

/** An encoded interval (merged from worker threads) handed to a sink, one histogram at a time. */
export function replaySnapshot(iv: IntervalSnapshot, sink: IntervalSink): void {
  const tags = Object.keys(iv.histograms);
  tags.forEach((tag, k) => {
    const enc = iv.histograms[tag]!;
    sink(iv, tag, decodeHistogram(enc.encoded, `interval ${iv.index} ${tag}`, enc), k === tags.length - 1);
  });
}

/** A sink that gathers an interval's histograms, encoded, and hands the whole interval on. */
export function snapshotSink(onSnapshot: (iv: IntervalSnapshot) => void): IntervalSink {
  let histograms: IntervalSnapshot["histograms"] = {};
  return (iv, tag, h, last) => {
    histograms[tag] = {
      encoded: encodeHistogram(h),
      count: h.totalCount,
      min: h.minNonZeroValue > h.maxValue ? 0 : h.minNonZeroValue,
      max: h.maxValue,
    };
    if (!last) return;
    onSnapshot({ ...iv, histograms });
    histograms = {};
  };
}

/** Writes an interval log through `write`, the header with the first interval. */
export class HdrLogWriter {
  private readonly writer: hdr.HistogramLogWriter;
  private baseMs: number | undefined;

  constructor(
    write: (text: string) => void,
    private readonly comment: string,
  ) {
    this.writer = new hdr.HistogramLogWriter(write);
  }

  /** One histogram of an interval, as one tagged line. */
  histogram(iv: Interval, tag: string, h: Histogram): void {
    if (this.baseMs === undefined) {
      this.baseMs = iv.startMs;
      const sec = (iv.startMs / 1000).toFixed(3);
      this.writer.outputComment(this.comment);
      this.writer.outputComment("Values in microseconds; Interval_Max in milliseconds; one tag per histogram");
      this.writer.outputLogFormatVersion();
      this.writer.outputComment(`[StartTime: ${sec} (seconds since epoch), ${new Date(iv.startMs).toISOString()}]`);
      this.writer.outputComment(`[BaseTime: ${sec} (seconds since epoch)]`);
      this.writer.outputLegend();
    }
    h.tag = tag;
    this.writer.outputIntervalHistogram(h, (iv.startMs - this.baseMs) / 1000, (iv.endMs - this.baseMs) / 1000, 1000);
  }
}

/**
 * Intervals of several worker threads merged by their index (the threads
 * start together, so their seconds line up): interval k is written once
 * every thread has sent its k-th, or has finished. Memory holds only the
 * intervals some thread has not reached yet.
 */
export class IntervalMerger {
  private readonly waiting = new Map<number, IntervalSnapshot[]>();
  private readonly finished: boolean[];
  private readonly reached: number[];
  private next = 0;

  constructor(
    threads: number,
    private readonly sink: (iv: IntervalSnapshot) => void,
  ) {
    this.finished = Array.from({ length: threads }, () => false);
    this.reached = Array.from({ length: threads }, () => -1);
  }

  add(thread: number, iv: IntervalSnapshot): void {
    const list = this.waiting.get(iv.index) ?? [];
    list.push(iv);
    this.waiting.set(iv.index, list);
    this.reached[thread] = iv.index;
    this.flush();
  }

  /** The thread sends no more intervals. */
  end(thread: number): void {
    this.finished[thread] = true;
    this.flush();
  }

  private flush(): void {
    for (;;) {
      // Interval `next` is complete when every thread has sent it, or has ended without it.
      if (!this.reached.every((r, t) => r >= this.next || this.finished[t])) return;
      const list = this.waiting.get(this.next);
      if (list === undefined) return;
      this.waiting.delete(this.next);
      this.next++;
      this.sink(mergeIntervals(list));
    }
  }
}

function mergeIntervals(list: readonly IntervalSnapshot[]): IntervalSnapshot {
  if (list.length === 1) return list[0]!;
  const tags = Object.keys(list[0]!.histograms);
  const histograms: IntervalSnapshot["histograms"] = {};
  for (const tag of tags) {
    const hs: Histogram[] = list
      .filter((iv) => iv.histograms[tag] !== undefined)
      .map((iv) => decodeHistogram(iv.histograms[tag]!.encoded, `interval ${iv.index} ${tag}`, iv.histograms[tag]));
    const m = mergeHistograms(hs);
    histograms[tag] = {
      encoded: encodeHistogram(m),
      count: m.totalCount,
      min: m.minNonZeroValue > m.maxValue ? 0 : m.minNonZeroValue,
      max: m.maxValue,
    };
  }
  return {
    index: list[0]!.index,
    startMs: Math.min(...list.map((iv) => iv.startMs)),
    endMs: Math.max(...list.map((iv) => iv.endMs)),
    histograms,
  };
}
