import { McdiagError } from "../util/errors.js";
import type { WorkerId } from "./run-info.js";

/**
 * Splitting one run across N workers (hosts, pods, threads). Worker i of N
 * takes its share of the callers, of a request count and of the rate, and a
 * disjoint slice of the key space under the prefix; a total that does not
 * divide evenly gives its remainder to the lowest indices (10 over 3: 4, 3,
 * 3). Splits nest: `--shard 1/4 --workers 2` splits shard 1's share again,
 * and its threads are workers 2 and 3 of 8.
 *
 * A constant-rate shard also starts its schedule `i / R` after the common
 * start (R the whole run's rate), so the workers' requests interleave as
 * one generator's would (k6 stripes its execution segments the same way).
 */

export const MAX_SHARDS = 10_000;
/** Rates are split in steps of 1/1000 per second, the resolution `--rate` takes. */
const RATE_STEPS_PER_UNIT = 1000;

/** `--shard I/N`: 0 ≤ I < N ≤ 10,000. */
export function parseShard(text: string, option = "--shard"): WorkerId {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!(count >= 1 && count <= MAX_SHARDS && index < count)) {
    throw new McdiagError(
      "BAD_OPTION",
      `${option}: '${text}' is not a shard (want I/N with 0 ≤ I < N ≤ ${MAX_SHARDS}, e.g. 0/4)`,
      { option, value: text },
    );
  }
  return { index, count };
}

/**
 * The shard index the scheduler gives this process, for `--shards N`:
 * Kubernetes' Indexed Jobs set JOB_COMPLETION_INDEX, Nomad sets
 * NOMAD_ALLOC_INDEX.
 */
export function shardFromEnv(count: number, env: Readonly<Record<string, string | undefined>>): WorkerId {
  const names = ["JOB_COMPLETION_INDEX", "NOMAD_ALLOC_INDEX"] as const;
  const name = names.find((n) => env[n] !== undefined && env[n] !== "");
  if (name === undefined) {
    throw new McdiagError(
      "BAD_OPTION",
      `--shards ${count}: neither JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) nor NOMAD_ALLOC_INDEX is set; give --shard I/${count}`,
      { option: "--shards" },
    );
  }
  return parseShard(`${env[name]}/${count}`, `--shards ${count} with ${name}=${env[name]}`);
}

/** Worker `s.index`'s share of `total` whole units, the remainder going to the lowest indices. */
export function shareOf(total: number, s: WorkerId): number {
  return Math.floor(total / s.count) + (s.index < total % s.count ? 1 : 0);
}

/** Where worker `s.index`'s slice of `total` consecutive units starts. */
export function sliceStart(total: number, s: WorkerId): number {
  return s.index * Math.floor(total / s.count) + Math.min(s.index, total % s.count);
}

/**
 * Worker `s.index`'s share of a rate: in whole requests per second when the
 * rate is whole and there is at least one for each worker (1000 over 3:
 * 334, 333, 333), else in thousandths (2.5 over 2: 1.25 each).
 */
export function rateShareOf(rate: number, s: WorkerId): number {
  if (Number.isInteger(rate) && rate >= s.count) return shareOf(rate, s);
  return shareOf(Math.round(rate * RATE_STEPS_PER_UNIT), s) / RATE_STEPS_PER_UNIT;
}

/** The one worker id of nested splits: [1/4, 1/2] is worker 3 of 8. */
export function flatWorker(splits: readonly WorkerId[]): WorkerId {
  let index = 0;
  let count = 1;
  for (const s of splits) {
    index = index * s.count + s.index;
    count *= s.count;
  }
  return { index, count };
}

/** What sharding changes in a run's options. */
export interface ShardableOptions {
  concurrency?: number;
  requests?: number;
  ratePerSec?: number;
  keyCount: number;
  keyFirst?: number;
  worker?: { index: number; count: number };
  scheduleOffsetMs?: number;
}

/**
 * A worker's options: its share of the callers, requests and rate, its
 * slice of the keys, its worker id, and its place in the interleaved
 * schedule. A share that comes to nothing is a BAD_OPTION error naming the
 * option: a worker with no callers, no keys or no rate cannot run.
 */
export function shardOptions<T extends ShardableOptions>(opts: T, splits: readonly WorkerId[]): T {
  if (splits.length === 0) return opts;
  const out = { ...opts };
  const flat = flatWorker(splits);
  for (const s of splits) {
    const of = (option: string, total: number, share: number) => {
      if (!(share > 0)) {
        throw new McdiagError(
          "BAD_OPTION",
          `${option} ${total} cannot be split across ${flat.count} workers: worker ${flat.index} would get none`,
          { option },
        );
      }
      return share;
    };
    if (out.concurrency !== undefined)
      out.concurrency = of("--concurrency", opts.concurrency!, shareOf(out.concurrency, s));
    if (out.requests !== undefined) out.requests = of("--requests", opts.requests!, shareOf(out.requests, s));
    if (out.ratePerSec !== undefined) out.ratePerSec = of("--rate", opts.ratePerSec!, rateShareOf(out.ratePerSec, s));
    out.keyFirst = (out.keyFirst ?? 0) + sliceStart(out.keyCount, s);
    out.keyCount = of("--keys", opts.keyCount, shareOf(out.keyCount, s));
  }
  out.worker = flat;
  if (opts.ratePerSec !== undefined) out.scheduleOffsetMs = (flat.index * 1000) / opts.ratePerSec;
  return out;
}
