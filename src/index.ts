/**
 * mcdiag as a library: the functions the CLI is a thin layer over, their
 * options and their result records. Nothing else is exported; the pool,
 * the connections and the parsers are internal and may change.
 *
 * ```ts
 * import { probe, PROBE_DEFAULTS, EmbeddedServer } from "mcdiag";
 *
 * const server = new EmbeddedServer();
 * const { host, port } = await server.listen();
 * const r = await probe({ ...PROBE_DEFAULTS, host, port, write: "split", requests: 50 });
 * console.log(r.stalledRatio, r.wireUs.p50); // ≈ 1, ≈ 44000 µs on Linux
 * await server.close();
 * ```
 *
 * @packageDocumentation
 */

// Measuring an endpoint: closed loop, constant rate, the write-pattern matrix, rate sweeps.
export { runProbe as probe, PROBE_DEFAULTS, type ProbeOptions, type ProbeProgress } from "./probes/closed-loop.js";
export { runRateProbe as probeRate, type RateProbeOptions, type RateProbeResult } from "./probes/open-loop.js";
export {
  runCompare as compare,
  comparePatterns,
  STALLING_RATIO,
  type CompareOptions,
  type CompareResult,
  type CompareFindings,
  type ComparePattern,
} from "./probes/compare.js";
export { runSweep as sweep, rateSteps, type SweepOptions, type SweepResult, type SweepStep } from "./probes/sweep.js";
export { parseSlos, type Slo, type SloMetric, type SloResult } from "./probes/slo.js";
export type { ProbeResult, PoolModelResult, RunInfo, ProbeTotals, WorkerRow } from "./probes/result.js";
// Runs split across workers (hosts, pods, threads), and the interval log.
export type { WorkerId } from "./probes/run-info.js";
export type { StartAt } from "./probes/start-at.js";
export type { IntervalSink, Interval } from "./results/hdr-log.js";
export type { Histogram } from "./metrics/histogram.js";
export type { Evidence } from "./probes/evidence.js";
export { WRITE_STRATEGIES, type WriteStrategy } from "./clients/connection.js";
export { HEALTH_CHECKS, type HealthCheck } from "./clients/pool.js";
export type { ErrorKind, ErrorCounts } from "./clients/errors.js";
export type { LatencySummaryUs } from "./metrics/histogram.js";
export type { LittlesLaw } from "./metrics/littles-law.js";
export type { TimelineSeries, TimelineDots, TimelineBands } from "./metrics/timeline-series.js";
export type { BusySeries } from "./metrics/busy-over-time.js";

// Reading a capture.
export {
  analyzeCapture as analyze,
  ANALYZE_DEFAULTS,
  type AnalyzeOptions,
  type AnalyzeProgress,
} from "./analyze/analyzer.js";
export type * from "./analyze/result.js";
export type { Cause } from "./analyze/causes.js";

// Checking how a client writes its commands.
export { checkClientCommand as check, checkCaptureFile as checkCapture, type CheckOptions } from "./check/check.js";
export { DEFAULT_RULES, type CheckRules, type CheckResult, type Violation, type RuleName } from "./check/rules.js";
export type { CheckMethod } from "./check/observation.js";
export { watchWrites, type WatchResult, type WatchedCommand, type WatchOptions } from "./check/watch-writes.js";

// The embedded memcached-compatible server.
export { EmbeddedServer, type ServerOptions } from "./server/server.js";
export type { ServerStats } from "./server/stats.js";
export type { CommandRecord, ArrivedPiece } from "./server/recording.js";

// Endpoints and errors.
export { parseEndpoint, formatEndpoint, type Endpoint } from "./util/endpoint.js";
export { McdiagError, type McdiagErrorCode } from "./util/errors.js";
