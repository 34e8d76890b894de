import { Worker } from "node:worker_threads";
import { fromThreadError, type ThreadError } from "../util/errors.js";
import type { ProbeOptions, ProbeProgress } from "./closed-loop.js";
import { watchEvidence } from "./evidence.js";
import { mergeProbeResults, probeInputOf } from "./fleet.js";
import type { RateProbeOptions } from "./open-loop.js";
import type { ProbeResult } from "./result.js";
import { flatWorker, shardOptions } from "./shard.js";
import type { WorkerId } from "./run-info.js";
import { formatEndpoint } from "../util/endpoint.js";
import { IntervalMerger, replaySnapshot, type IntervalSnapshot } from "../results/hdr-log.js";

/**
 * `--workers N`: one run split into N shards, each on a worker thread of
 * this process with its own event loop, pool and histograms, merged here
 * through the same exact merge as results from many hosts. One Node event
 * loop is the ceiling of one process; threads lift it on a machine with
 * spare cores (memtier_benchmark's --threads).
 *
 *   main                         thread w (runProbe / runRateProbe)
 *    │── start {kind, options} ──▶ seed its keys, warm its pool up
 *    │◀──────────── ready ─────── (at its start gate)
 *    │  all ready: evidence "before"
 *    │── go {startAtMs} ─────────▶ waits for startAtMs, runs
 *    │◀──────────── measured ──── (its pool still open)
 *    │  all measured: evidence "after"
 *    │── close ──────────────────▶ closes its pool
 *    │◀────────────── result ──── (JSON-ready)
 *    │  merge
 *
 * Ctrl-C: the main thread forwards the abort; each thread stops within its
 * grace, reports what it measured, and the merge is marked interrupted.
 * With `--start-at`, the threads wait for that time instead of the barrier.
 */

/** Messages from the main thread to a worker thread. */
export type ToWorker = { type: "go"; startAtMs: number } | { type: "close" } | { type: "abort" };
/** Messages from a worker thread to the main thread. */
export type FromWorker =
  | { type: "ready" }
  | { type: "measured" }
  | { type: "progress"; progress: ProbeProgress }
  | { type: "interval"; interval: IntervalSnapshot }
  | { type: "result"; result: object }
  | ({ type: "error" } & ThreadError);

/** What a worker thread is given to run (everything structured-clonable: no signal, no callbacks). */
export interface WorkerTask {
  kind: "closed" | "rate";
  /** Send each second's histograms (the main thread writes the interval log). */
  intervals: boolean;
  options: Omit<ProbeOptions, "signal" | "onProgress" | "startAt" | "beforeClose" | "onInterval"> & {
    ratePerSec?: number;
    scheduleOffsetMs?: number;
  };
}

export const MAX_WORKER_THREADS = 256;
/** After all threads are ready, the common start is this far ahead, so every thread gets the message in time. */
const BARRIER_LEAD_MS = 50;
/** A thread that neither reports nor exits this long after an abort is terminated. */
const ABORT_DEADLINE_MS = 3000;

export type WorkersRunOptions = (({ kind: "closed" } & ProbeOptions) | ({ kind: "rate" } & RateProbeOptions)) & {
  threads: number;
  /** The splits this process already is (`--shard I/N`), if any. */
  splits: readonly WorkerId[];
};

/** Runs the shards on worker threads and returns their exact merge, with one row per thread. */
export async function runProbeWorkers(o: WorkersRunOptions): Promise<ProbeResult> {
  const { threads, splits, signal, onProgress, startAt, kind, onInterval, beforeClose: _, ...rest } = o;
  if (!(threads >= 1 && threads <= MAX_WORKER_THREADS)) throw new RangeError("threads out of range");
  if (typeof startAt === "function") throw new RangeError("a start barrier is the threads' own");
  const endpoint = formatEndpoint(o);
  const base = { ...rest, evidence: false } as WorkerTask["options"];
  const tasks: WorkerTask[] = [];
  for (let w = 0; w < threads; w++) {
    tasks.push({
      kind,
      intervals: onInterval !== undefined,
      options: shardOptions(base, [...splits, { index: w, count: threads }]),
    });
  }
  const workers = tasks.map((t) => new Worker(new URL("./worker-thread.js", import.meta.url), { workerData: t }));
  const progress = tasks.map(() => ({ elapsedMs: 0, completed: 0, errors: 0 }));
  // Each second of the run, merged across the threads, for the interval log.
  const intervals =
    onInterval === undefined ? undefined : new IntervalMerger(threads, (iv) => replaySnapshot(iv, onInterval));
  const post = (m: ToWorker) => {
    for (const w of workers) w.postMessage(m);
  };
  let ready = 0;
  let measured = 0;
  let evidence: Awaited<ReturnType<typeof watchEvidence>> | undefined;
  let evidenceAfter: Awaited<ReturnType<NonNullable<typeof evidence>>> | undefined;
  const onAbort = () => post({ type: "abort" });
  signal?.addEventListener("abort", onAbort, { once: true });
  const exited = workers.map(() => false);
  workers.forEach((w, i) => w.once("exit", () => (exited[i] = true)));
  try {
    const results = await Promise.all(
      workers.map(
        (worker, w) =>
          new Promise<object>((resolve, reject) => {
            let settled = false;
            worker.on("message", (m: FromWorker) => {
              if (m.type === "ready") {
                if (++ready === threads) {
                  void (async () => {
                    evidence = await watchEvidence(o, endpoint);
                    // With --start-at the threads wait for that time; otherwise for this one.
                    post({ type: "go", startAtMs: startAt ?? Date.now() + BARRIER_LEAD_MS });
                  })().catch(reject);
                }
              } else if (m.type === "measured") {
                if (++measured === threads) {
                  void (async () => {
                    if (evidence !== undefined && signal?.aborted !== true) evidenceAfter = await evidence();
                    post({ type: "close" });
                  })().catch(reject);
                }
              } else if (m.type === "progress") {
                progress[w] = m.progress;
                onProgress?.({
                  elapsedMs: Math.max(...progress.map((p) => p.elapsedMs)),
                  plannedMs: m.progress.plannedMs,
                  completed: progress.reduce((a, p) => a + p.completed, 0),
                  plannedRequests: undefined,
                  errors: progress.reduce((a, p) => a + p.errors, 0),
                });
              } else if (m.type === "interval") {
                intervals?.add(w, m.interval);
              } else if (m.type === "result") {
                settled = true;
                intervals?.end(w);
                resolve(m.result);
              } else {
                settled = true;
                // One thread cannot run: the others stop too, and the error is the run's.
                post({ type: "abort" });
                // A typed error keeps its code (an unreachable endpoint is exit 2); anything else is a bug.
                reject(fromThreadError(m, "internal error in a worker thread"));
              }
            });
            worker.on("error", (err) => {
              settled = true;
              post({ type: "abort" });
              reject(err);
            });
            worker.on("exit", (code) => {
              intervals?.end(w);
              if (!settled) {
                post({ type: "abort" });
                reject(new Error(`worker thread ${w} exited with code ${code} before reporting`));
              }
            });
          }),
      ),
    );
    const merged = mergeProbeResults(
      results.map((r, w) => probeInputOf(r as Record<string, unknown>, `thread ${w}`)),
      { slos: o.slos, minSuccessRatio: o.minSuccessRatio, worker: splits.length > 0 ? flatWorker(splits) : undefined },
    );
    if (evidenceAfter !== undefined && merged.interrupted !== true) merged.evidence = evidenceAfter;
    return merged;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    // Threads end on their own once they have reported; one that does not is stopped.
    await Promise.all(
      workers.map(
        (w, i) =>
          new Promise<void>((resolve) => {
            if (exited[i]) return resolve();
            const t = setTimeout(() => void w.terminate().then(() => resolve()), ABORT_DEADLINE_MS);
            w.once("exit", () => {
              clearTimeout(t);
              resolve();
            });
          }),
      ),
    );
  }
}
