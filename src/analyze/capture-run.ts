import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LoopbackCapture } from "../check/tcpdump.js";
import { ANALYZE_DEFAULTS, analyzeCapture } from "./analyzer.js";
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
}

/**
 * Records a run's own traffic to `host:port` with tcpdump (the wrapper
 * `check --capture` uses: loopback for a local endpoint, every interface
 * otherwise), then attributes every slow request of it through the
 * analyzer. Needs tcpdump with root or CAP_NET_RAW.
 */
export async function withCapture<T>(
  host: string,
  port: number,
  run: () => Promise<T>,
  opts: { slowMs?: number; keepFile?: string; signal?: AbortSignal } = {},
): Promise<{ result: T; attribution: CaptureAttribution }> {
  const dir = opts.keepFile === undefined ? mkdtempSync(join(tmpdir(), "mcdiag-capture-")) : undefined;
  const file = opts.keepFile ?? join(dir!, "run.pcap");
  const local = host === "localhost" || host === "::1" || /^127\./.test(host);
  const cap = await LoopbackCapture.start(file, port, local ? "lo" : "any");
  let result: T;
  try {
    result = await run();
  } finally {
    await cap.stop(opts.signal?.aborted ? 0 : 2500);
  }
  try {
    const r = await analyzeCapture({
      ...ANALYZE_DEFAULTS,
      input: file,
      ports: [port],
      slowMs: opts.slowMs ?? ANALYZE_DEFAULTS.slowMs,
      maxItems: 0,
    });
    return {
      result,
      attribution: {
        file: opts.keepFile,
        packets: r.packets,
        retransmissions: r.retransmissions,
        slowThresholdMs: r.slowThresholdMs,
        slowRequests: r.slowRequests,
        causes: r.causes,
        warnings: r.warnings,
      },
    };
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}
