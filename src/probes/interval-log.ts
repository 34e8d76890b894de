import { performance } from "node:perf_hooks";
import { newHistogram, recordClampedUs, type Histogram } from "../metrics/histogram.js";
import type { IntervalSink } from "../results/hdr-log.js";
import { wallMs } from "./run-info.js";

/** One interval a second, as memtier_benchmark and HdrHistogram's own loggers write them. */
export const INTERVAL_MS = 1000;
/** Intervals waiting to be encoded beyond this are encoded at once (an event loop too busy to turn). */
const MAX_PENDING = 4;

/**
 * Per-second twins of a run's histograms, for an HdrHistogram interval log
 * (`--hdr-log`). Every value the run records goes into its histogram's twin
 * too; each second the twins are swapped for empty ones, and the full ones
 * go to `sink` one per event-loop turn: the sink encodes it (about 0.5 ms),
 * and the probe's schedule is never held up for longer than that.
 *
 *   record → twin (this second) ─tick─▶ pending ─one per turn─▶ sink(interval, tag, histogram)
 *
 * Memory holds two sets of histograms and the intervals not yet encoded.
 */
export class IntervalRecorder {
  private readonly names: string[];
  private readonly twins = new Map<Histogram, Histogram>();
  private current: Histogram[];
  private spares: Histogram[][] = [];
  private readonly pending: { index: number; startMs: number; endMs: number; hs: Histogram[] }[] = [];
  private index = 0;
  private intervalStartMs = 0;
  private t0 = 0;
  private timer: NodeJS.Timeout | undefined;
  private encoding: NodeJS.Immediate | undefined;

  constructor(
    private readonly sources: Readonly<Record<string, Histogram>>,
    private readonly sink: IntervalSink,
  ) {
    this.names = Object.keys(sources);
    this.current = this.names.map(() => newHistogram());
    this.names.forEach((n, i) => this.twins.set(sources[n]!, this.current[i]!));
  }

  /** The value just recorded into `source` (µs), recorded into this second's twin. */
  record(source: Histogram, us: number): void {
    const twin = this.twins.get(source);
    if (twin !== undefined) recordClampedUs(twin, us);
  }

  /** Starts the first interval at `startMs` (performance.now() ms); later ones begin on each whole second after it. */
  start(startMs: number): void {
    this.t0 = startMs;
    this.intervalStartMs = startMs;
    this.schedule();
  }

  private schedule(): void {
    const due = this.t0 + (this.index + 1) * INTERVAL_MS;
    this.timer = setTimeout(() => this.tick(performance.now()), Math.max(0, due - performance.now()));
  }

  private tick(nowMs: number): void {
    this.roll(nowMs);
    this.schedule();
    if (this.pending.length > MAX_PENDING) this.encodeAll();
    else this.encodeSoon();
  }

  /** Closes the current interval at `endMs`, swapping in empty twins. */
  private roll(endMs: number): void {
    const full = this.current;
    this.current = this.spares.pop() ?? this.names.map(() => newHistogram());
    this.names.forEach((n, i) => this.twins.set(this.sources[n]!, this.current[i]!));
    this.pending.push({ index: this.index++, startMs: this.intervalStartMs, endMs, hs: full });
    this.intervalStartMs = endMs;
  }

  private encodeSoon(): void {
    if (this.encoding !== undefined || this.pending.length === 0) return;
    this.encoding = setImmediate(() => {
      this.encoding = undefined;
      this.encodeStep();
      this.encodeSoon();
    });
  }

  /** Hands one histogram of the oldest pending interval to the sink; the interval's last one frees it. */
  private sent = 0;
  private encodeStep(): void {
    const iv = this.pending[0];
    if (iv === undefined) return;
    const k = this.sent++;
    const last = this.sent === this.names.length;
    this.sink(
      { index: iv.index, startMs: wallMs(iv.startMs), endMs: wallMs(iv.endMs) },
      this.names[k]!,
      iv.hs[k]!,
      last,
    );
    if (!last) return;
    this.sent = 0;
    this.pending.shift();
    for (const h of iv.hs) h.reset();
    this.spares.push(iv.hs);
  }

  private encodeAll(): void {
    while (this.pending.length > 0) this.encodeStep();
  }

  /** Closes the last (partial) interval at `endMs` and emits every interval left; no timer remains. */
  finish(endMs: number): void {
    this.stop();
    this.roll(endMs);
    this.encodeAll();
  }

  /** Stops the clock (after an error, or from finish). */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.encoding !== undefined) clearImmediate(this.encoding);
    this.timer = undefined;
    this.encoding = undefined;
  }
}
