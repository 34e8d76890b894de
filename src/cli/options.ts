import type { Command } from "commander";
import { WRITE_STRATEGIES, type WriteStrategy } from "../clients/connection.js";
import { HEALTH_CHECKS, type HealthCheck } from "../clients/pool.js";
import { PROBE_DEFAULTS, type ProbeOptions } from "../probes/closed-loop.js";
import { DEFAULT_MIN_SUCCESS_RATIO } from "../probes/health.js";
import { MAX_DURATION_MS, parseDurationMs } from "../util/duration.js";
import { McdiagError } from "../util/errors.js";
import { MAX_PORT } from "../util/endpoint.js";

/** Raw option values as commander hands them over (strings unless boolean). */
export type RawOptions = Record<string, string | boolean | undefined>;

export function intOption(
  raw: string | boolean | undefined,
  option: string,
  min: number,
  max: number,
  fallback: number,
): number {
  if (raw === undefined || typeof raw === "boolean") return fallback;
  const want = `a whole number from ${min} to ${fmtLimit(max)}`;
  if (!/^\d+$/.test(raw.trim())) throw badOption(option, raw, want);
  const n = Number(raw);
  if (n < min || n > max) throw badOption(option, raw, want);
  return n;
}

/** Every `--port` given (repeatable), each a TCP port. */
export function portsOption(raw: readonly string[]): number[] {
  return raw.map((p) => intOption(p.trim(), "--port", 1, MAX_PORT, 0));
}

export function numberOption(
  raw: string | boolean | undefined,
  option: string,
  min: number,
  fallback: number,
  max = Infinity,
): number {
  if (raw === undefined || typeof raw === "boolean") return fallback;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
    throw badOption(option, raw, max === Infinity ? `a number ≥ ${min}` : `a number from ${min} to ${fmtLimit(max)}`);
  }
  return n;
}

/** Limits print as plain numbers (1e9 → "1000000000"), as every option message does. */
function fmtLimit(n: number): string {
  return String(n);
}

export function choiceOption<T extends string>(
  raw: string | boolean | undefined,
  option: string,
  choices: readonly T[],
  fallback: T,
): T {
  if (raw === undefined || typeof raw === "boolean") return fallback;
  if (!(choices as readonly string[]).includes(raw)) throw badOption(option, raw, `one of ${choices.join(", ")}`);
  return raw as T;
}

export function durationOption(
  raw: string | boolean | undefined,
  option: string,
  opts: { allowZero?: boolean } = {},
): number | undefined {
  if (raw === undefined || typeof raw === "boolean") return undefined;
  return parseDurationMs(raw, option, opts);
}

function badOption(option: string, value: string, want: string): McdiagError {
  return new McdiagError("BAD_OPTION", `${option}: '${value}' is not valid (want ${want})`, { option, value });
}

/** Options shared by probe, compare and demo. */
export function addLoadOptions(cmd: Command, defaultDuration: string): Command {
  return cmd
    .option("--pool <n>", "connections in the pool", String(PROBE_DEFAULTS.poolSize))
    .option("--concurrency <n>", "callers issuing requests at once (closed loop)", String(PROBE_DEFAULTS.concurrency))
    .option("--duration <time>", "how long to measure, e.g. 500ms, 5s, 1m", defaultDuration)
    .option("--requests <n>", "stop after this many measured requests")
    .option("--health-check <kind>", `sent on every checkout: ${HEALTH_CHECKS.join(", ")}`, PROBE_DEFAULTS.healthCheck)
    .option("--key-prefix <prefix>", "the probe reads and writes only keys under this prefix", PROBE_DEFAULTS.keyPrefix)
    .option("--keys <n>", "distinct keys to cycle through", String(PROBE_DEFAULTS.keyCount))
    .option("--value-size <bytes>", "size of the seeded values", String(PROBE_DEFAULTS.valueSizeBytes))
    .option("--no-seed", "do not write the keys first (expect misses unless they exist)")
    .option("--timeout <time>", "per request and per wait for a connection", `${PROBE_DEFAULTS.timeoutMs}ms`)
    .option("--connect-timeout <time>", "per connection attempt", `${PROBE_DEFAULTS.connectTimeoutMs}ms`)
    .option(
      "--warmup <n>",
      "unmeasured requests per connection first (past Linux's quick-ack start)",
      String(PROBE_DEFAULTS.warmupPerConnection),
    )
    .option("--stall-threshold <ms>", "wire time that counts as a stall", String(PROBE_DEFAULTS.stallThresholdMs))
    .option(
      "--min-success <percent>",
      "below this share of answered requests a run is not healthy (exit 1)",
      `${DEFAULT_MIN_SUCCESS_RATIO * 100}%`,
    )
    .option("--json", "print JSON for machines instead of tables");
}

/**
 * Options the chosen mode would ignore are an error, not silence: naming the
 * option and the mode. Only values given on the command line count.
 */
export function rejectOptions(cmd: Command, mode: string, flags: readonly string[]): void {
  for (const flag of flags) {
    const attr = flag.replace(/^--/, "").replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (cmd.getOptionValueSource(attr) === "cli") {
      throw new McdiagError("BAD_OPTION", `${flag} does not apply to ${mode}`, { option: flag });
    }
  }
}

/** A percentage (`99.9%`, or `99.9`) as a ratio 0…1. */
export function percentOption(raw: string | boolean | undefined, option: string, fallback: number): number {
  if (raw === undefined || typeof raw === "boolean") return fallback;
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(raw);
  const n = m ? Number(m[1]) : NaN;
  if (!(n >= 0 && n <= 100)) throw badOption(option, raw, "a percentage from 0 to 100, e.g. 99.9%");
  return Math.round(n * 1e8) / 1e10;
}

/** The highest rate one mcdiag process is asked to issue; more is a typo or a job for several machines. */
export const MAX_RATE_PER_SEC = 1_000_000;

export function rateOption(raw: string, option: string): number {
  const n = numberOption(raw, option, 0.001, 0, MAX_RATE_PER_SEC);
  return n;
}

export type LoadOptions = Omit<ProbeOptions, "host" | "port" | "write" | "noDelay">;

export function loadOptionsFrom(o: RawOptions): LoadOptions {
  const durationMs = durationOption(o.duration, "--duration");
  const requests = o.requests === undefined ? undefined : intOption(o.requests, "--requests", 1, 1e9, 0);
  return {
    poolSize: intOption(o.pool, "--pool", 1, 10_000, PROBE_DEFAULTS.poolSize),
    concurrency: intOption(o.concurrency, "--concurrency", 1, 10_000, PROBE_DEFAULTS.concurrency),
    durationMs: requests !== undefined && o.durationExplicit !== true ? undefined : durationMs,
    requests,
    healthCheck: choiceOption<HealthCheck>(o.healthCheck, "--health-check", HEALTH_CHECKS, PROBE_DEFAULTS.healthCheck),
    keyPrefix: typeof o.keyPrefix === "string" ? o.keyPrefix : PROBE_DEFAULTS.keyPrefix,
    keyCount: intOption(o.keys, "--keys", 1, 1_000_000, PROBE_DEFAULTS.keyCount),
    valueSizeBytes: intOption(o.valueSize, "--value-size", 0, 1024 * 1024, PROBE_DEFAULTS.valueSizeBytes),
    seed: o.seed !== false,
    timeoutMs: durationOption(o.timeout, "--timeout") ?? PROBE_DEFAULTS.timeoutMs,
    connectTimeoutMs: durationOption(o.connectTimeout, "--connect-timeout") ?? PROBE_DEFAULTS.connectTimeoutMs,
    warmupPerConnection: intOption(o.warmup, "--warmup", 0, 10_000, PROBE_DEFAULTS.warmupPerConnection),
    stallThresholdMs: numberOption(
      o.stallThreshold,
      "--stall-threshold",
      0.001,
      PROBE_DEFAULTS.stallThresholdMs,
      MAX_DURATION_MS,
    ),
    minSuccessRatio: percentOption(o.minSuccess, "--min-success", DEFAULT_MIN_SUCCESS_RATIO),
  };
}

export function writeOption(raw: string | boolean | undefined): WriteStrategy {
  return choiceOption<WriteStrategy>(raw, "--write", WRITE_STRATEGIES, PROBE_DEFAULTS.write);
}

/** Commander collector for a repeatable, comma-separable option (`--port 1 --port 2,3`). */
export function collectList(value: string, previous: string[]): string[] {
  return [...previous, ...value.split(",")];
}

/** `--capture [file]` and `--slow`, for a command that can record its own traffic and attribute its slow requests. */
export function addCaptureOptions(cmd: Command, what: string): Command {
  return cmd
    .option("--capture [file]", `record ${what} with tcpdump (root) and give every slow request a cause`)
    .option("--slow <ms>", "with --capture: a request this long on the wire is slow", "20");
}

/** Undefined without --capture; `keepFile` when --capture named a file to keep. */
export function captureOptionsFrom(o: RawOptions): { keepFile: string | undefined; slowMs: number } | undefined {
  if (o.capture === undefined) return undefined;
  return {
    keepFile: typeof o.capture === "string" && o.capture !== "" ? o.capture : undefined,
    slowMs: numberOption(o.slow, "--slow", 0.001, 20),
  };
}
