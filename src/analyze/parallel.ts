import { Worker } from "node:worker_threads";
import type { Json } from "../results/fields.js";
import { McdiagError, type McdiagErrorCode } from "../util/errors.js";
import {
  analyzeCapture,
  analyzeSequence,
  NotOneSequence,
  readCapture,
  sizeOf,
  type AnalyzeOptions,
  type AnalyzeProgress,
  type CaptureRead,
  type TimedSink,
} from "./analyzer.js";
import { Decoded, decodePacket, newTcpPacket } from "./decode.js";
import { flowShareOf, flowShareOfFrame } from "./flows.js";
import type { CapturedPacket } from "./packet.js";
import { BatchWriter } from "./packet-batch.js";
import { captureFiles, orderByFirstPacket, sameKind } from "./capture-set.js";
import { analysisInputOf, mergeAnalyses } from "./merge.js";
import type { AnalysisResult } from "./result.js";
import type { FlowShare, ShareRecord } from "./share.js";

/**
 * `analyze` on several threads. One capture (a file, or a ring of files in
 * sequence) is split by flow: each worker reads every packet and analyses
 * the flows whose hash falls to it, and the shares merge into exactly the
 * one-thread analysis. Separate captures (files overlapping in time, or of
 * different formats) are analysed one per worker and merged as `mcdiag
 * merge` merges them. Either way the merge is `mergeAnalyses`.
 */
export interface ParallelOptions extends AnalyzeOptions {
  /**
   * Worker threads; 1 (the default) analyses in this thread. Opt-in: on the
   * shared two-core machine it was measured on, two threads cost more CPU
   * than they saved in wall time (README, "Several threads").
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
  if (!sameKind(files)) return separately();
  try {
    return threads <= 1 ? await analyzeSequence(opts) : await analyzeShared(opts, threads);
  } catch (err) {
    // Found while reading: the files overlap in time.
    if (err instanceof NotOneSequence) return separately();
    throw err;
  }
}

/**
 * One capture split by flow: this thread reads it (once) and hands each
 * worker the packets of its flows, and every other packet's time; the
 * workers' shares merge into the one analysis.
 */
async function analyzeShared(opts: ParallelOptions, threads: number): Promise<AnalysisResult> {
  const workers: Worker[] = [];
  let failure: Error | undefined;
  const outstanding: number[] = [];
  let wake: (() => void) | undefined;
  const done: Promise<{ result: AnalysisResult; share: ShareRecord }>[] = [];
  try {
    for (let index = 0; index < threads; index++) {
      const w = spawnWorker();
      workers.push(w);
      outstanding.push(0);
      done.push(
        new Promise((resolve) => {
          w.on("message", (m: WorkerMessage) => {
            if (m.type === "ack") {
              outstanding[index]!--;
              wake?.();
            } else if (m.type === "done") resolve({ result: m.result, share: m.share! });
            else if (m.type === "error") {
              failure ??= workerError(m, opts.input);
              wake?.();
            }
          });
          const fail = (err: Error) => {
            failure ??= err;
            wake?.();
          };
          w.on("error", (err) => fail(new Error(`analysis worker: ${err.message}`)));
          w.on("exit", (code) => fail(new Error(`an analysis worker stopped unexpectedly (exit ${code})`)));
        }),
      );
      const plain: WorkerAnalyzeOptions = plainOptions(opts);
      w.postMessage({ type: "share", opts: plain, share: { index, of: threads } } satisfies MainMessage);
    }
    const feeder = new ShareFeeder(
      workers.map(
        (w, i) =>
          new BatchWriter((buf, used) => {
            outstanding[i]!++;
            w.postMessage({ type: "batch", buf, used } satisfies MainMessage, [buf]);
          }),
      ),
    );
    const read = await readCapture(
      opts,
      feeder,
      async () => {
        // Reading runs ahead of the workers by a few batches at most: memory stays bounded.
        while (failure === undefined && Math.max(...outstanding) > MAX_OUTSTANDING_BATCHES) {
          await new Promise<void>((r) => (wake = r));
        }
        if (failure !== undefined) throw failure;
      },
      true,
    );
    feeder.flush();
    for (const w of workers) w.postMessage({ type: "end", read } satisfies MainMessage);
    const shares = await Promise.race([
      Promise.all(done),
      new Promise<never>((_, reject) => {
        const check = () => (failure !== undefined ? reject(failure) : (wake = check));
        check();
      }),
    ]);
    return mergeAnalyses(
      shares.map((d, i) => analysisInputOf(d.result as unknown as Json, `share ${i + 1}`)),
      { records: shares.map((d) => d.share), file: read.name, files: read.parts },
    );
  } finally {
    for (const w of workers) {
      w.removeAllListeners("exit");
      void w.terminate();
    }
  }
}

/** Batches read ahead of the slowest worker, at most (4 MiB each). */
const MAX_OUTSTANDING_BATCHES = 4;

/** Hands each packet to the worker owning its flow (packets of no flow to the first), and its time to the others. */
class ShareFeeder implements TimedSink {
  lastTNs = 0;
  private readonly scratch = newTcpPacket();

  constructor(private readonly writers: BatchWriter[]) {}

  onPacket(pk: CapturedPacket): void {
    if (pk.tNs > this.lastTNs) this.lastTNs = pk.tNs;
    const w = this.writers;
    let owner = flowShareOfFrame(pk.linkType, pk.data, pk.offset, pk.capLen, w.length);
    if (owner < 0) {
      // Not plain Ethernet/IPv4: decode. Packets of no flow go to the first worker.
      const p = this.scratch;
      const status = decodePacket(pk.linkType, pk.data, pk.offset, pk.capLen, p);
      owner = status === Decoded.Tcp || status === Decoded.Udp ? flowShareOf(p, pk.data, w.length) : 0;
    }
    for (let i = 0; i < w.length; i++) {
      if (i === owner) w[i]!.packet(pk);
      else w[i]!.time(pk.frame, pk.tNs);
    }
  }

  flush(): void {
    for (const w of this.writers) w.flush();
  }
}

function spawnWorker(): Worker {
  return new Worker(new URL("./analyze-worker.js", import.meta.url), {
    resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
  });
}

/** A worker's error as the main thread throws it: a McdiagError as it was, anything else internal, naming the input. */
function workerError(
  m: { code: McdiagErrorCode | undefined; message: string },
  input: string | readonly string[],
): Error {
  if (m.code !== undefined) return new McdiagError(m.code, m.message);
  return new Error(`${typeof input === "string" ? input : input.join(", ")}: ${m.message}`);
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

/** Separate captures: each analysed alone (on `threads` workers), then merged. */
async function analyzeSeparately(
  opts: ParallelOptions,
  paths: string[],
  threads: number,
  totalBytes: number,
): Promise<AnalysisResult> {
  let results: AnalysisResult[];
  if (threads <= 1) {
    results = [];
    let doneBytes = 0;
    for (const input of paths) {
      if (opts.signal?.aborted) break;
      results.push(
        await analyzeCapture({
          ...opts,
          input,
          onProgress:
            opts.onProgress &&
            ((p) => opts.onProgress!({ ...p, bytesRead: doneBytes + p.bytesRead, totalBytes: totalBytes })),
        }),
      );
      doneBytes += sizeOf(input);
    }
  } else {
    const done = await runJobs(
      opts,
      paths.map((input) => ({ input })),
      Math.min(threads, paths.length),
      (progress) => progress.reduce((a, b) => a + b, 0),
      totalBytes,
    );
    results = done;
  }
  const merged = mergeAnalyses(results.map((r) => analysisInputOf(r as unknown as Json, r.file)));
  merged.file = `${results.length} separate captures (${typeof opts.input === "string" ? opts.input : opts.input.join(", ")})`;
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

/** What a worker posts: progress, a batch done, its result, or its error. */
export type WorkerMessage =
  | { type: "progress"; bytesRead: number; packets: number }
  | { type: "ack" }
  | { type: "done"; result: AnalysisResult; share?: ShareRecord }
  | { type: "error"; code: McdiagErrorCode | undefined; message: string };

/**
 * What the main thread posts to a worker: a whole input to analyse (`run`,
 * stopped early by `stop`), or a share of a capture this thread reads
 * (`share`, then its `batch`es, then `end`).
 */
export type MainMessage =
  | { type: "run"; job: Job; opts: WorkerAnalyzeOptions }
  | { type: "stop" }
  | { type: "share"; opts: WorkerAnalyzeOptions; share: FlowShare }
  | { type: "batch"; buf: ArrayBuffer; used: number }
  | { type: "end"; read: CaptureRead };

/** The options a worker can receive: plain data (no signal, no callbacks). */
export type WorkerAnalyzeOptions = Omit<AnalyzeOptions, "signal" | "onProgress" | "onExchange" | "input" | "share">;

/**
 * Runs the jobs on `workers` threads, each worker taking the next job when
 * it is done; results come back in job order. A stop (the signal) is passed
 * on, and each worker returns what it has. A worker's error stops them all
 * and is thrown: a McdiagError as it was, anything else as an internal error.
 */
async function runJobs(
  opts: ParallelOptions,
  jobs: Job[],
  workers: number,
  combineBytes: (perJob: number[]) => number,
  totalBytes: number,
): Promise<AnalysisResult[]> {
  const plain = plainOptions(opts);
  const results: (AnalysisResult | undefined)[] = jobs.map(() => undefined);
  const bytes = jobs.map(() => 0);
  const packets = jobs.map(() => 0);
  const pool: Worker[] = [];
  let next = 0;
  const signal = opts.signal;
  return new Promise<AnalysisResult[]>((resolve, reject) => {
    let settled = false;
    let running = 0;
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
    const give = (w: Worker) => {
      if (settled) return;
      if (next >= jobs.length || signal?.aborted) {
        if (running === 0) finish();
        return;
      }
      const at = next++;
      running++;
      w.removeAllListeners("message");
      w.on("message", (m: WorkerMessage) => {
        if (m.type === "progress") {
          bytes[at] = m.bytesRead;
          packets[at] = m.packets;
          opts.onProgress?.(progressOf(bytes, packets, combineBytes, totalBytes || undefined));
        } else if (m.type === "done") {
          running--;
          results[at] = m.result;
          give(w);
        } else if (m.type === "error") finish(workerError(m, jobs[at]!.input));
      });
      w.postMessage({ type: "run", job: jobs[at]!, opts: plain } satisfies MainMessage);
    };
    for (let i = 0; i < workers; i++) {
      const w = spawnWorker();
      pool.push(w);
      w.on("error", (err) => finish(new Error(`analysis worker: ${err.message}`)));
      // A worker ends only when terminated after its work: any other end is a failure (out of memory).
      w.on("exit", (code) => finish(new Error(`an analysis worker stopped unexpectedly (exit ${code})`)));
      give(w);
    }
  });
}

function progressOf(
  bytes: number[],
  packets: number[],
  combineBytes: (perJob: number[]) => number,
  totalBytes: number | undefined,
): AnalyzeProgress {
  return { bytesRead: combineBytes(bytes), totalBytes, packets: combineBytes(packets) };
}
