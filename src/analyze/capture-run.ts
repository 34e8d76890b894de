import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LoopbackCapture } from "../check/tcpdump.js";
import { ANALYZE_DEFAULTS, analyzeCapture, analyzeCaptureSections, type AnalyzeOptions } from "./analyzer.js";
import type { CauseSummary } from "./result.js";

/** What a run's own capture said about its slow requests. */
export interface CaptureAttribution {
  /** The capture file, kept when the caller named one. */
  file: string | undefined;
  packets: number;
  retransmissions: number;
  slowThresholdMs: number;
  slowRequests: number;
  causes: CauseSummary[];
  warnings: string[];
  /** The run's phases, each attributed on its own, when the run marked them. */
  phases?: PhaseAttribution[];
}

/** One phase of a run (a compare pattern): its share of the capture and the causes found in it. */
export interface PhaseAttribution {
  phase: string;
  packets: number;
  retransmissions: number;
  slowRequests: number;
  causes: CauseSummary[];
}

export interface CaptureRunOptions {
  slowMs?: number;
  /** Keep the capture here (otherwise it is made in a temporary folder and removed). */
  keepFile?: string;
  signal?: AbortSignal;
}

/**
 * Records a run's own traffic to `host:port` with tcpdump (the wrapper
 * `check --capture` uses: loopback for a local endpoint, every interface
 * otherwise), then attributes every slow request of it through the
 * analyzer. Needs tcpdump with root or CAP_NET_RAW.
 *
 * A run made of phases (compare's write patterns) calls `endPhase(name)` as
 * each one ends: the attribution then also lists the phases, each attributed
 * from the traffic between its end and the previous one's (the last phase
 * also gets what follows).
 */
export async function withCapture<T>(
  host: string,
  port: number,
  run: (endPhase: (name: string) => void) => Promise<T>,
  opts: CaptureRunOptions = {},
): Promise<{ result: T; attribution: CaptureAttribution }> {
  const dir = opts.keepFile === undefined ? mkdtempSync(join(tmpdir(), "mcdiag-capture-")) : undefined;
  const file = opts.keepFile ?? join(dir!, "run.pcap");
  const local = host === "localhost" || host === "::1" || /^127\./.test(host);
  const cap = await LoopbackCapture.start(file, port, local ? "lo" : "any");
  const phaseEndsMs: number[] = [];
  const phaseNames: string[] = [];
  let result: T;
  try {
    result = await run((name) => {
      phaseEndsMs.push(Date.now());
      phaseNames.push(name);
    });
  } finally {
    await cap.stop(opts.signal?.aborted ? 0 : 2500);
  }
  try {
    const analyze: AnalyzeOptions = {
      ...ANALYZE_DEFAULTS,
      input: file,
      ports: [port],
      slowMs: opts.slowMs ?? ANALYZE_DEFAULTS.slowMs,
      maxItems: 0,
    };
    const r = await analyzeCapture(analyze);
    const attribution: CaptureAttribution = {
      file: opts.keepFile,
      packets: r.packets,
      retransmissions: r.retransmissions,
      slowThresholdMs: r.slowThresholdMs,
      slowRequests: r.slowRequests,
      causes: r.causes,
      warnings: r.warnings,
    };
    if (phaseEndsMs.length > 0) {
      const sections = await analyzeCaptureSections(analyze, phaseEndsMs);
      attribution.phases = sections.map((p, i) => ({
        phase: phaseNames[i]!,
        packets: p.packets,
        retransmissions: p.retransmissions,
        slowRequests: p.slowRequests,
        causes: p.causes,
      }));
    }
    return { result, attribution };
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}
