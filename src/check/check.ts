import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ExchangeRecord, FlowStats } from "../analyze/aggregate.js";
import { ANALYZE_DEFAULTS, analyzeCapture } from "../analyze/analyzer.js";
import { EmbeddedServer } from "../server/server.js";
import { MAX_RECORDED_COMMANDS, type CommandRecord } from "../server/recording.js";
import { formatEndpoint, type Endpoint } from "../util/endpoint.js";
import { McdiagError } from "../util/errors.js";
import { runChild } from "./child.js";
import type { CommandObservation } from "./observation.js";
import { judge, type CheckResult, type CheckRules } from "./rules.js";
import { LoopbackCapture } from "./tcpdump.js";

export interface CheckOptions {
  rules: CheckRules;
  showKeys: boolean;
  signal?: AbortSignal;
  /** Receives the client command's stdout and stderr (discarded when absent). */
  childOutput?: (chunk: Buffer) => void;
}

/**
 * Runs a client command against the recording server (and, with `capture`,
 * tcpdump on loopback) and judges how its commands arrived.
 */
export async function checkClientCommand(
  argv: string[],
  opts: CheckOptions & { timeoutMs: number; capture: boolean; upstream?: Endpoint },
): Promise<CheckResult> {
  if (argv.length === 0)
    throw new McdiagError("BAD_OPTION", "check: give the client command after --, or --capture FILE");
  if (opts.upstream !== undefined) await assertReachable(opts.upstream);
  const server = new EmbeddedServer({ record: true, upstream: opts.upstream });
  const ep = await server.listen();
  const dir = opts.capture ? mkdtempSync(join(tmpdir(), "mcdiag-check-")) : undefined;
  try {
    const cap = dir !== undefined ? await LoopbackCapture.start(join(dir, "check.pcap"), ep.port) : undefined;
    let child;
    try {
      child = await runChild(argv, ep, opts.timeoutMs, opts.childOutput ?? (() => {}), opts.signal);
    } finally {
      await cap?.stop();
    }
    let observations: CommandObservation[];
    if (cap !== undefined) {
      observations = await observeCapture(cap.file, [ep.port], opts);
    } else {
      observations = server.records.map((r) => fromRecord(r, opts.showKeys));
    }
    const method = cap !== undefined ? "capture" : "recording";
    const { violations, notes } = judge(observations, opts.rules, method, child, opts.showKeys);
    if (server.records.length >= MAX_RECORDED_COMMANDS) {
      notes.push(`only the first ${MAX_RECORDED_COMMANDS.toLocaleString("en-US")} commands were recorded`);
    }
    return {
      verdict: violations.length === 0 ? "pass" : "fail",
      method,
      endpoint: formatEndpoint(ep),
      ...(opts.upstream !== undefined ? { upstream: formatEndpoint(opts.upstream) } : {}),
      commands: observations.length,
      violations,
      childExitCode: child.exitCode,
      notes,
    };
  } finally {
    await server.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

/** Fails fast, in one line, when the memcached that commands would be relayed to cannot be reached. */
function assertReachable(ep: Endpoint): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: ep.host, port: ep.port });
    const fail = (why: string) => {
      s.destroy();
      reject(
        new McdiagError("UNREACHABLE", `--upstream ${formatEndpoint(ep)}: ${why}`, { endpoint: formatEndpoint(ep) }),
      );
    };
    const timer = setTimeout(() => fail("no answer to connect within 5 s"), 5000);
    s.once("connect", () => {
      clearTimeout(timer);
      s.destroy();
      resolve();
    });
    s.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      fail(err.code ?? err.message);
    });
  });
}

/** Judges the memcached traffic in a capture file by the same rules. */
export async function checkCaptureFile(file: string, ports: number[], opts: CheckOptions): Promise<CheckResult> {
  let memcachedFlows = 0;
  const observations = await observeCapture(file, ports, opts, (n) => (memcachedFlows = n));
  if (memcachedFlows === 0) {
    throw new McdiagError(
      "BAD_INPUT",
      `${file}: no memcached traffic to check (server ports ${[11211, ...ports].join(", ")}; add --port)`,
      { file },
    );
  }
  const { violations, notes } = judge(observations, opts.rules, "capture", undefined, opts.showKeys);
  return {
    verdict: violations.length === 0 ? "pass" : "fail",
    method: "capture",
    endpoint: undefined,
    commands: observations.length,
    violations,
    childExitCode: null,
    notes,
  };
}

async function observeCapture(
  file: string,
  ports: number[],
  opts: CheckOptions,
  flows?: (n: number) => void,
): Promise<CommandObservation[]> {
  const out: CommandObservation[] = [];
  const r = await analyzeCapture({
    ...ANALYZE_DEFAULTS,
    input: file,
    ports,
    stallThresholdMs: opts.rules.stallThresholdMs > 0 ? opts.rules.stallThresholdMs : ANALYZE_DEFAULTS.stallThresholdMs,
    showKeys: opts.showKeys,
    maxItems: 0,
    top: 0,
    onExchange: (f, x) => out.push(fromExchange(f, x)),
  });
  flows?.(r.memcachedFlows);
  return out;
}

function fromRecord(r: CommandRecord, showKeys: boolean): CommandObservation {
  return {
    connection: r.connection,
    // Already interned by the recording server: a text verb, "bin:<Opcode>" or "other".
    command: r.verb,
    key: r.key,
    sizeBytes: r.sizeBytes,
    writes: r.pieces.length,
    gapMs: r.maxGapMs,
    pieces: r.pieces.map((p) => ({ sizeBytes: p.sizeBytes, text: showKeys ? p.text : p.maskedText })),
    stalled: false,
  };
}

function fromExchange(f: FlowStats, x: ExchangeRecord): CommandObservation {
  let gapNs = 0;
  let stalled = false;
  for (const s of x.stalls ?? []) {
    if (s.side !== "request") continue;
    stalled = true;
    if (s.stallNs > gapNs) gapNs = s.stallNs;
  }
  return {
    connection: f.flow,
    command: x.verb,
    key: x.key,
    sizeBytes: x.reqBytes,
    writes: x.reqSegments,
    gapMs: gapNs / 1e6,
    pieces: undefined,
    stalled,
  };
}
