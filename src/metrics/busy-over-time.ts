/**
 * Busy connections and waiting callers over time, for the chart that sets
 * them against the pool size and Little's-law L. Each point is the exact
 * time average over its interval, read off the pool's running areas (the
 * same ones its whole-run averages come from), so no change of state is
 * missed between two samples.
 */
import { round } from "../util/round.js";

/** What the sampler reads: time averages since the window opened, and the window's length. */
export interface AveragesSource {
  averages(): { busy: number; waiting: number; windowMs: number };
}

/** The JSON form. */
export interface BusySeries {
  intervalMs: number;
  /** End of each interval, ms since the run's start. */
  tMs: number[];
  /** Mean busy connections over the interval. */
  busy: number[];
  /** Mean callers waiting for a connection over the interval. */
  waiting: number[];
}

/** Points at most; a run longer than planned merges neighbours (exactly: they are time averages). */
export const MAX_POINTS = 1000;
const MIN_INTERVAL_MS = 20;

export class BusySampler {
  private timer: NodeJS.Timeout | undefined;
  private intervalMs: number;
  private readonly out: BusySeries;
  private lastBusyArea = 0;
  private lastWaitingArea = 0;
  private lastWindowMs = 0;

  constructor(
    private readonly source: AveragesSource,
    plannedMs: number | undefined,
  ) {
    this.intervalMs = Math.max(MIN_INTERVAL_MS, Math.ceil((plannedMs ?? 0) / MAX_POINTS));
    this.out = { intervalMs: this.intervalMs, tMs: [], busy: [], waiting: [] };
  }

  /** Starts sampling; call right after the pool's averages were reset, when the run's clock starts. */
  start(): void {
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  /** The last (partial) interval, then the series. */
  stop(): BusySeries {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
    return this.out;
  }

  /** Adds the point for the interval since the last one (the timer calls this). */
  sample(): void {
    const a = this.source.averages();
    const busyArea = a.busy * a.windowMs;
    const waitingArea = a.waiting * a.windowMs;
    const dt = a.windowMs - this.lastWindowMs;
    if (dt <= 0) return;
    const o = this.out;
    o.tMs.push(round(a.windowMs, 1));
    o.busy.push(round((busyArea - this.lastBusyArea) / dt, 3));
    o.waiting.push(round((waitingArea - this.lastWaitingArea) / dt, 3));
    this.lastBusyArea = busyArea;
    this.lastWaitingArea = waitingArea;
    this.lastWindowMs = a.windowMs;
    if (o.tMs.length > MAX_POINTS) this.halve();
  }

  /** Merges neighbouring intervals pairwise (time-weighted) and doubles the interval. */
  private halve(): void {
    const o = this.out;
    const t: number[] = [];
    const busy: number[] = [];
    const waiting: number[] = [];
    for (let i = 0; i < o.tMs.length; i += 2) {
      const j = Math.min(i + 1, o.tMs.length - 1);
      const start = i === 0 ? 0 : o.tMs[i - 1]!;
      const d1 = o.tMs[i]! - start;
      const d2 = o.tMs[j]! - o.tMs[i]!;
      const d = d1 + d2;
      t.push(o.tMs[j]!);
      busy.push(d > 0 ? round((o.busy[i]! * d1 + (j > i ? o.busy[j]! * d2 : 0)) / d, 3) : o.busy[i]!);
      waiting.push(d > 0 ? round((o.waiting[i]! * d1 + (j > i ? o.waiting[j]! * d2 : 0)) / d, 3) : o.waiting[i]!);
    }
    o.tMs = t;
    o.busy = busy;
    o.waiting = waiting;
    this.intervalMs *= 2;
    o.intervalMs = this.intervalMs;
    if (this.timer !== undefined) {
      clearInterval(this.timer);
      this.start();
    }
  }
}
