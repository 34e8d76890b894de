/**
 * mcdiag as a library. The CLI is a thin layer over these functions.
 */
export { runProbe, PROBE_DEFAULTS, type ProbeOptions, type ProbeProgress } from "./probes/closed-loop.js";
export { runCompare, comparePatterns, findingsOf, type CompareResult, type CompareFindings } from "./probes/compare.js";
export type { ProbeResult } from "./probes/result.js";
export {
  Connection,
  WRITE_STRATEGIES,
  type WriteStrategy,
  type ConnectionOptions,
  type RequestHandler,
} from "./clients/connection.js";
export {
  Pool,
  HEALTH_CHECKS,
  type HealthCheck,
  type PoolOptions,
  type PoolStats,
  type Checkout,
} from "./clients/pool.js";
export { requestOnce, RequestError, type ResponseSnapshot } from "./clients/request.js";
export type { ErrorKind, ErrorCounts } from "./clients/errors.js";
export { EmbeddedServer, type ServerOptions, type ServerCounters } from "./server/server.js";
export type { CommandRecord, ArrivedPiece } from "./server/recording.js";
export * from "./protocol/commands.js";
export { ResponseParser, type ParsedResponse, type ResponseKind, type ValueItem } from "./protocol/response-parser.js";
export { frameCommand, newFrame, type CommandFrame } from "./protocol/request-framing.js";
export { keyProblem, MAX_KEY_BYTES } from "./protocol/keys.js";
export { littlesLaw, type LittlesLaw } from "./metrics/littles-law.js";
export { newHistogram, summarize, HISTOGRAM_SETTINGS, type LatencySummaryUs } from "./metrics/histogram.js";
export { parseEndpoint, formatEndpoint, type Endpoint } from "./util/endpoint.js";
export { McdiagError, type McdiagErrorCode } from "./util/errors.js";
export { watchWrites, type WatchResult, type WatchedCommand, type WatchOptions } from "./check/watch-writes.js";
export { checkClientCommand, checkCaptureFile } from "./check/check.js";
export { DEFAULT_RULES, type CheckRules, type CheckResult, type Violation } from "./check/rules.js";
export { analyzeCapture, ANALYZE_DEFAULTS, type AnalyzeOptions } from "./analyze/analyzer.js";
export type { AnalysisResult } from "./analyze/result.js";
