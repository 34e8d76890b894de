import type { WriteStrategy } from "../clients/connection.js";
import { runProbe, type ProbeOptions, type ProbeProgress } from "./closed-loop.js";
import type { ProbeResult } from "./result.js";
import type { ErrorCounts } from "../clients/errors.js";

export interface ComparePattern {
  write: WriteStrategy;
  noDelay: boolean;
}

/** The 2×2 matrix {split, coalesced} × {Nagle on, TCP_NODELAY}; `corked` added with `all`. */
export function comparePatterns(all: boolean): ComparePattern[] {
  const m: ComparePattern[] = [
    { write: "split", noDelay: false },
    { write: "split", noDelay: true },
    { write: "coalesced", noDelay: false },
    { write: "coalesced", noDelay: true },
  ];
  if (all) m.push({ write: "corked", noDelay: false }, { write: "corked", noDelay: true });
  return m;
}

/** A run counts as stalling when at least this share of its answers stalled. */
export const STALLING_RATIO = 0.05;

export interface CompareFindings {
  /** Runs where ≥ STALLING_RATIO of requests stalled. */
  stalling: { write: WriteStrategy; noDelay: boolean; stalledRatio: number; typicalStallMs: number }[];
  /** Runs that did not stall, fastest p50 first. */
  clean: { write: WriteStrategy; noDelay: boolean; wireP50Us: number }[];
  /** True when only split writes with Nagle on stall: the story's signature. */
  nagleSignature: boolean;
  /** Runs where every request failed: they prove nothing, and the comparison cannot be trusted. */
  failed: { write: WriteStrategy; noDelay: boolean; errors: ErrorCounts }[];
  /** Runs that got answers but are not healthy (success floor, stray replies): their figures are doubtful. */
  unhealthy: { write: WriteStrategy; noDelay: boolean; problems: string[] }[];
}

export interface CompareResult {
  endpoint: string;
  runs: ProbeResult[];
  findings: CompareFindings;
  /** Present when SIGINT/SIGTERM stopped the comparison: the runs so far, the last one partial. */
  interrupted?: true;
}

export type CompareOptions = Omit<ProbeOptions, "write" | "noDelay" | "onProgress"> & {
  all: boolean;
  onProgress?: (pattern: ComparePattern, index: number, of: number, p: ProbeProgress) => void;
  onRunDone?: (r: ProbeResult) => void;
};

/** Runs the same load once per write pattern, one after another. */
export async function runCompare(opts: CompareOptions): Promise<CompareResult> {
  const patterns = comparePatterns(opts.all);
  const runs: ProbeResult[] = [];
  for (let i = 0; i < patterns.length; i++) {
    if (opts.signal?.aborted) break;
    const p = patterns[i]!;
    const progress = opts.onProgress;
    const r = await runProbe({
      ...opts,
      write: p.write,
      noDelay: p.noDelay,
      // Seeding once is enough; later runs read the same keys.
      seed: opts.seed && i === 0,
      onProgress: progress ? (pp) => progress(p, i, patterns.length, pp) : undefined,
    });
    runs.push(r);
    opts.onRunDone?.(r);
  }
  const result: CompareResult = { endpoint: runs[0]?.endpoint ?? "", runs, findings: findingsOf(runs) };
  if (opts.signal?.aborted) result.interrupted = true;
  return result;
}

/** Every request of the run failed. */
export function allFailed(r: ProbeResult): boolean {
  return r.requests > 0 && r.hits + r.misses === 0;
}

export function findingsOf(runs: ProbeResult[]): CompareFindings {
  const stalling = runs
    .filter((r) => r.stalledRatio >= STALLING_RATIO)
    .map((r) => ({
      write: r.write,
      noDelay: r.noDelay,
      stalledRatio: r.stalledRatio,
      typicalStallMs: r.typicalStallMs,
    }));
  const clean = runs
    .filter((r) => r.stalledRatio < STALLING_RATIO && r.hits + r.misses > 0)
    .map((r) => ({ write: r.write, noDelay: r.noDelay, wireP50Us: r.wireUs.p50 }))
    .sort((a, b) => a.wireP50Us - b.wireP50Us);
  const nagleSignature =
    stalling.length > 0 && stalling.every((s) => s.write === "split" && !s.noDelay) && clean.length > 0;
  const failed = runs.filter(allFailed).map((r) => ({ write: r.write, noDelay: r.noDelay, errors: r.errors }));
  const unhealthy = runs
    .filter((r) => !r.healthy && !allFailed(r))
    .map((r) => ({ write: r.write, noDelay: r.noDelay, problems: r.problems }));
  return { stalling, clean, nagleSignature, failed, unhealthy };
}
