import { performance } from "node:perf_hooks";

/** What the sleeps wait on: nothing ever notifies it, so they always time out. */
const SLEEP_CELL = new Int32Array(new SharedArrayBuffer(4));
/** The least a sleep ends before its deadline: the kernel's usual timer slack (50 µs) and a margin. */
export const MIN_SLACK_MS = 0.15;
/** The most: beyond this a wake-up is so late that polling the whole gap would cost more than it saves. */
export const MAX_SLACK_MS = 1;
/** Room kept above the latest wake-up seen. */
const SLACK_MARGIN_MS = 0.05;
/** Per sleep, the slack shrinks by this factor toward MIN_SLACK_MS: a late spell is forgotten in about a thousand sleeps. */
const SLACK_DECAY = 0.999;

/**
 * Sleeps the thread (Atomics.wait, sub-millisecond resolution) until a
 * little before a deadline, leaving the rest to be polled. How much before
 * is learned: a process that sleeps is woken by the kernel (and, in a virtual
 * machine, by the hypervisor) up to hundreds of µs late now and then, and a
 * fixed slack would let each such wake-up push a request past its due time.
 * The slack jumps to the latest wake-up seen (plus a margin, up to
 * MAX_SLACK_MS) and decays slowly, so it tracks the machine's recent tail of
 * wake-up delays: the CPU spent polling grows only as far as that tail needs.
 */
export class ShortSleeper {
  /** How long before the deadline a sleep aims to end, ms. */
  slackMs = MIN_SLACK_MS;

  /** Sleeps until `slackMs` before `deadlineMs` (a performance.now() time), if that is still ahead. */
  sleepUntil(deadlineMs: number): void {
    const wakeMs = deadlineMs - this.slackMs;
    const now = performance.now();
    if (wakeMs <= now) return;
    Atomics.wait(SLEEP_CELL, 0, 0, wakeMs - now);
    this.learn(performance.now() - wakeMs);
  }

  /** Takes in how late one wake-up was, ms. */
  learn(lateMs: number): void {
    const needed = lateMs + SLACK_MARGIN_MS;
    this.slackMs =
      needed > this.slackMs ? Math.min(MAX_SLACK_MS, needed) : Math.max(MIN_SLACK_MS, this.slackMs * SLACK_DECAY);
  }
}
