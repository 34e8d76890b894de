import { Worker } from "node:worker_threads";
import type { Json } from "../results/fields.js";
import { fromThreadError, type ThreadError } from "../util/errors.js";
import { analyzeCapture, analyzeSequence, NotOneSequence, sizeOf, type AnalyzeOptions } from "./analyzer.js";
import { analyzeShare } from "./share-reader.js";
import { captureFiles, orderByFirstPacket, overlapEarly, sameKind } from "./capture-set.js";
import { analysisInputOf, mergeAnalyses } from "./merge.js";
import type { AnalysisResult } from "./result.js";
import type { FlowShare, ShareRecord } from "./share.js";

/**
 * `analyze` on several threads. One capture (a file, or a ring of files in
 * sequence) is split by flow: each thread (this one and the workers) reads
 * every packet and analyses the flows whose hash falls to it, and the shares
 * merge into exactly the one-thread analysis. Separate captures (files
 * overlapping in time, or of different formats) are analysed one per thread
 * at a time and merged as `mcdiag merge` merges them. Either way the merge
 * is `mergeAnalyses`.
 */
export interface ParallelOptions extends AnalyzeOptions {
  /**
   * Threads that analyse, this one included; 1 (the default) analyses in
   * this thread alone.
   */
  threads?: number;
}

/**
 * A young generation this large in each worker: analyze makes many
 * short-lived objects, and fewer scavenges saved a little CPU (README).
 */
const WORKER_YOUNG_GENERATION_MB = 16;

export async function analyzeInParallel(opts: ParallelOptions): Promise<AnalysisResult> {
  const inputs = typeof opts.input === "string" ? [opts.input] : opts.input;
  if (inputs.length === 1 && inputs[0] === "-") return analyzeCapture(opts);
  const paths = captureFiles(inputs);
  const totalBytes = paths.reduce((sum, p) => sum + sizeOf(p), 0);
  const threads = opts.threads ?? 1;
  const files = paths.length > 1 ? await orderByFirstPacket(paths, opts.signal) : [];
  const separately = () =>
    analyzeSeparately(
      opts,
      files.map((f) => f.path),
      threads,
      totalBytes,
    );
  if (!sameKind(files) || (await overlapEarly(files))) return separately();
  try {
    return threads <= 1 ? await analyzeSequence(opts) : await analyzeShared(opts, threads);
  } catch (err) {
    // Found while reading: the files overlap in time.
    if (err instanceof NotOneSequence) return separately();
    throw err;
  }
}

/**
 * One capture split by flow: every thread reads the whole capture and
 * analyses the flows whose hash falls to it, passing over the others'
 * packets with only their time; the shares merge into the one analysis.
 * Measured side by side, reading twice cost the same as one thread handing
 * the other its packets (copied into batches, and decoded twice), and is
 * simpler.
 */
async function analyzeShared(opts: ParallelOptions, threads: number): Promise<AnalysisResult> {
  const workers: Worker[] = [];
  const plain: WorkerAnalyzeOptions = plainOptions(opts);
  const input = opts.input;
  const done: Promise<{ result: AnalysisResult; share: ShareRecord }>[] = [];
  const stopAll = () => {
    for (const w of workers) w.postMessage({ type: "stop" } satisfies MainMessage);
  };
  opts.signal?.addEventListener("abort", stopAll, { once: true });
  try {
    for (let index = 1; index < threads; index++) {
      const w = spawnWorker();
      workers.push(w);
      done.push(
        new Promise((resolve, reject) => {
          w.on("message", (m: WorkerMessage) => {
            if (m.type === "done") resolve({ result: m.result, share: m.share! });
            else if (m.type === "error") reject(fromThreadError(m, inputName(input)));
          });
          onWorkerFailure(w, reject);
        }),
      );
      w.postMessage({ type: "share", opts: plain, input, share: { index, of: threads } } satisfies MainMessage);
    }
    // A worker's failure is awaited below (or lost to this thread's own, which comes first).
    for (const d of done) d.catch(() => {});
    const mine = await analyzeShare({ ...opts, share: { index: 0, of: threads } });
    const shares = [mine, ...(await Promise.all(done))];
    return mergeAnalyses(
      shares.map((d, i) => analysisInputOf(d.result as unknown as Json, `share ${i + 1}`)),
      { records: shares.map((d) => d.share), file: mine.result.file, files: mine.result.files },
    );
  } finally {
    opts.signal?.removeEventListener("abort", stopAll);
    for (const w of workers) {
      w.removeAllListeners("exit");
      void w.terminate();
    }
  }
}

function spawnWorker(): Worker {
  return new Worker(new URL("./analyze-worker.js", import.meta.url), {
    resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
  });
}

/**
 * Calls `fail` when the worker itself fails. A worker ends only when
 * terminated after its work (its exit listener removed first): any other end
 * is a failure (out of memory).
 */
function onWorkerFailure(w: Worker, fail: (err: Error) => void): void {
  w.on("error", (err) => fail(new Error(`analysis worker: ${err.message}`)));
  w.on("exit", (code) => fail(new Error(`an analysis worker stopped unexpectedly (exit ${code})`)));
}

/** The input as an error names it. */
function inputName(input: string | readonly string[]): string {
  return typeof input === "string" ? input : input.join(", ");
}

function plainOptions(opts: ParallelOptions): WorkerAnalyzeOptions {
  return {
    ports: opts.ports,
    stallThresholdMs: opts.stallThresholdMs,
    ackWindowMs: opts.ackWindowMs,
    slowMs: opts.slowMs,
    showKeys: opts.showKeys,
    top: opts.top,
    maxItems: opts.maxItems,
    idleTimeoutMs: opts.idleTimeoutMs,
    maxFlows: opts.maxFlows,
  };
}

/** Separate captures: each analysed alone (on `threads` threads), then merged. */
async function analyzeSeparately(
  opts: ParallelOptions,
  paths: string[],
  threads: number,
  totalBytes: number,
): Promise<AnalysisResult> {
  const results = await runJobs(
    opts,
    paths.map((input) => ({ input })),
    Math.min(threads, paths.length),
    totalBytes,
  );
  const merged = mergeAnalyses(results.map((r) => analysisInputOf(r as unknown as Json, r.file)));
  merged.file = `${results.length} separate captures (${inputName(opts.input)})`;
  merged.warnings.unshift(
    `the ${paths.length} files are separate captures (they overlap in time, or differ in format): each was analysed alone and the results merged; flow and frame numbers are each file's`,
  );
  if (opts.signal?.aborted) merged.interrupted = true;
  return merged;
}

/** One worker's task: a whole input. */
interface Job {
  input: string;
}

/** What a worker posts: progress, its result, or its error. */
export type WorkerMessage =
  | { type: "progress"; bytesRead: number; packets: number }
  | { type: "done"; result: AnalysisResult; share?: ShareRecord }
  | ({ type: "error" } & ThreadError);

/**
 * What the main thread posts to a worker: a whole input to analyse (`run`),
 * or its share of a capture every thread reads (`share`); either is stopped
 * early by `stop`.
 */
export type MainMessage =
  | { type: "run"; job: Job; opts: WorkerAnalyzeOptions }
  | { type: "stop" }
  | { type: "share"; opts: WorkerAnalyzeOptions; input: string | readonly string[]; share: FlowShare };

/** The options a worker can receive: plain data (no signal, no callbacks). */
export type WorkerAnalyzeOptions = Omit<AnalyzeOptions, "signal" | "onProgress" | "onExchange" | "input" | "share">;

/**
 * Runs the jobs on `threads` threads, this one and threads − 1 workers, each
 * taking the next job when it is done; results come back in job order. A
 * stop (the signal) is passed on, and each thread returns what it has. An
 * error stops them all and is thrown: a McdiagError as it was, anything else
 * as an internal error.
 */
async function runJobs(
  opts: ParallelOptions,
  jobs: Job[],
  threads: number,
  totalBytes: number,
): Promise<AnalysisResult[]> {
  const plain = plainOptions(opts);
  const results: (AnalysisResult | undefined)[] = jobs.map(() => undefined);
  const bytes = jobs.map(() => 0);
  const packets = jobs.map(() => 0);
  const pool: Worker[] = [];
  let next = 0;
  const signal = opts.signal;
  const progress = (at: number, p: { bytesRead: number; packets: number }) => {
    bytes[at] = p.bytesRead;
    packets[at] = p.packets;
    opts.onProgress?.({ bytesRead: sum(bytes), totalBytes: totalBytes || undefined, packets: sum(packets) });
  };
  /** A job is done: its whole file counts as read. */
  const done = (at: number, result: AnalysisResult) => {
    running--;
    results[at] = result;
    bytes[at] = sizeOf(jobs[at]!.input);
  };
  let running = 0;
  return new Promise<AnalysisResult[]>((resolve, reject) => {
    let settled = false;
    const stopAll = () => {
      for (const w of pool) w.postMessage({ type: "stop" } satisfies MainMessage);
    };
    signal?.addEventListener("abort", stopAll, { once: true });
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", stopAll);
      for (const w of pool) void w.terminate();
      if (err !== undefined) reject(err);
      else resolve(results.filter((r): r is AnalysisResult => r !== undefined));
    };
    /** The next job's index, or undefined when none is left (then the last thread to stop finishes). */
    const take = (): number | undefined => {
      if (settled) return undefined;
      if (next >= jobs.length || signal?.aborted) {
        if (running === 0) finish();
        return undefined;
      }
      running++;
      return next++;
    };
    const give = (w: Worker) => {
      const at = take();
      if (at === undefined) return;
      w.removeAllListeners("message");
      w.on("message", (m: WorkerMessage) => {
        if (m.type === "progress") progress(at, m);
        else if (m.type === "done") {
          done(at, m.result);
          give(w);
        } else if (m.type === "error") finish(fromThreadError(m, jobs[at]!.input));
      });
      w.postMessage({ type: "run", job: jobs[at]!, opts: plain } satisfies MainMessage);
    };
    for (let i = 1; i < threads; i++) {
      const w = spawnWorker();
      pool.push(w);
      onWorkerFailure(w, finish);
      give(w);
    }
    // This thread takes jobs too, between handling the workers' messages.
    const runHere = async (): Promise<void> => {
      for (let at = take(); at !== undefined; at = take()) {
        done(at, await analyzeCapture({ ...opts, input: jobs[at]!.input, onProgress: (p) => progress(at, p) }));
      }
    };
    runHere().catch((err: unknown) => finish(err instanceof Error ? err : new Error(String(err))));
  });
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}
