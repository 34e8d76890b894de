import { Command } from "commander";
import { rateSteps, runSweep } from "../probes/sweep.js";
import type { RateProbeResult } from "../probes/open-loop.js";
import { parseSlos, type Slo } from "../probes/slo.js";
import { fmtMs, fmtRate } from "../report/format.js";
import { renderSweep, renderSweepStepLine, sweepJson } from "../report/sweep-report.js";
import { McdiagError } from "../util/errors.js";
import { jsonText, printJson, type CliContext } from "./context.js";
import { checkSideFile, writeSideFile } from "./side-files.js";
import { endpointArg, resolveEndpoint } from "./endpoint-arg.js";
import { EXIT_FINDINGS } from "./exit-codes.js";
import {
  addLoadOptions,
  durationOption,
  intOption,
  loadOptionsFrom,
  MAX_RATE_PER_SEC,
  numberOption,
  rateOption,
  rejectOptions,
  writeOption,
  type RawOptions,
} from "./options.js";
import { failIfAnyRunFailed } from "./all-failed.js";
import { addHtmlOption, htmlPath, writeHtml } from "./html-option.js";
import { addFleetOptions, fleetSettingsFrom } from "./fleet-options.js";
import { shardOptions } from "../probes/shard.js";
import { Progress } from "./progress.js";

export function sweepCommand(ctx: CliContext): Command {
  const cmd = new Command("sweep")
    .description("constant-rate steps over a range of rates, each judged by SLOs: find the knee")
    .argument("[endpoint]", "host:port ([::1]:11211 for IPv6)")
    .option("--rates <list>", "rates to step through, e.g. 1000,2000,5000")
    .option("--from <rate>", "first rate (with --to and --steps)")
    .option("--to <rate>", "last rate")
    .option("--steps <n>", "number of evenly spaced rates", "5")
    .option("--step-duration <time>", "how long each step runs", "10s")
    .option("--pause <time>", "pause between steps", "1s")
    .option(
      "--slo <list>",
      'objectives, e.g. "p99<5ms,success>=99.9%" (p50…p99.99, mean, max, success, errors, stalled)',
    )
    .option("--write <strategy>", "coalesced, split or corked", "coalesced")
    .option("--nodelay", "set TCP_NODELAY")
    .option("--embedded", "sweep a built-in server on a free loopback port")
    .option("--json-file <file>", "also write the JSON result to this file (for merge; e.g. on a shared volume)");
  addHtmlOption(cmd);
  addLoadOptions(cmd, "10s");
  addFleetOptions(cmd, false);
  cmd.addHelpText(
    "after",
    `
Each step is an open-loop run: requests leave on schedule whatever the
responses do, and latency counts from each request's intended start. The
answer is the highest rate that meets every SLO, and which SLO broke first
above it.

Examples:
  mcdiag sweep 127.0.0.1:11211 --rates 1000,2000,5000,10000 --slo "p99<2ms,success>=99.9%"
  mcdiag sweep 127.0.0.1:5000 --from 200 --to 2500 --steps 8 --step-duration 30s --slo "p95<1s"
  mcdiag sweep 127.0.0.1:11211 --rates 1000,5000,10000 --slo "p99<2ms" --html sweep.html

Split across workers (--shard I/N, --shards N), each worker runs its share of
every step's rate; with --start-at, step k of every worker starts at
START + k × (step duration + pause). Merge the workers' --json with
mcdiag merge.

Latency counts every request (a failure at its time to failure). A step
below --min-success (99 %) breaks, whatever the SLOs say.

Exit codes: 0 every step met the SLOs; 1 some step broke one (the table still
prints); 2 bad usage (a malformed SLO included) or endpoint unreachable;
3 every request of some step failed (the sweep cannot be trusted there);
130 interrupted (the partial table is printed first, marked).`,
  );
  cmd.action(async (arg: string | undefined, raw: RawOptions) => {
    const json = raw.json === true;
    rejectOptions(cmd, "sweep (each step runs at a constant rate for --step-duration)", [
      "--duration",
      "--requests",
      "--concurrency",
    ]);
    const rates = ratesFrom(raw);
    const slos: Slo[] = typeof raw.slo === "string" ? parseSlos(raw.slo) : [];
    const stepDurationMs = durationOption(raw.stepDuration, "--step-duration") ?? 10_000;
    const pauseMs = durationOption(raw.pause, "--pause", { allowZero: true }) ?? 1000;
    const load = loadOptionsFrom(raw);
    const fleet = fleetSettingsFrom(raw, process.env);
    // Every step's share must be possible on this worker: refused now, not at that step.
    for (const rate of rates) shardOptions({ ...load, ratePerSec: rate }, fleet.splits);
    if (ctx.parseOnly)
      return ctx.parseOnly({
        endpoint: raw.embedded === true ? "embedded" : endpointArg(arg, "sweep"),
        rates,
        stepDurationMs,
        pauseMs,
        slos,
        ...load,
        ...fleet,
      });
    const jsonFile = typeof raw.jsonFile === "string" ? checkSideFile(raw.jsonFile, "--json-file") : undefined;
    const html = htmlPath(raw);
    const target = await resolveEndpoint(arg, raw.embedded === true, "sweep");
    const progress = new Progress(json);
    try {
      const result = await runSweep({
        ...load,
        host: target.endpoint.host,
        port: target.endpoint.port,
        write: writeOption(raw.write),
        noDelay: raw.nodelay === true,
        rates,
        stepDurationMs,
        pauseMs,
        slos,
        splits: fleet.splits,
        startAtMs: fleet.startAtMs,
        signal: ctx.signal,
        onProgress: (rate, i, of, p) =>
          progress.fraction(
            (i + p.elapsedMs / stepDurationMs) / of,
            `step ${i + 1}/${of}: ${fmtRate(rate)} for ${fmtMs(stepDurationMs)}`,
          ),
        onStep: (s, i, of) => {
          if (!json && process.stderr.isTTY) {
            progress.done();
            ctx.err(renderSweepStepLine(s, i, of));
          }
        },
      });
      progress.done();
      if (json) printJson(ctx, sweepJson(result));
      else ctx.out(renderSweep(result, typeof raw.slo === "string" ? raw.slo : undefined));
      writeHtml(html, "sweep", sweepJson(result));
      if (jsonFile !== undefined) writeSideFile(jsonFile, jsonText(sweepJson(result)), "--json-file");
      if (result.interrupted) return;
      failIfAnyRunFailed(
        result.endpoint,
        result.runs,
        (r) => `the ${fmtRate((r as RateProbeResult).requestedRate)} step`,
      );
      if (result.steps.some((s) => !s.sloMet)) ctx.exitCode = EXIT_FINDINGS;
    } finally {
      progress.done();
      await target.release();
    }
  });
  return cmd;
}

function ratesFrom(raw: RawOptions): number[] {
  if (typeof raw.rates === "string") {
    if (raw.from !== undefined || raw.to !== undefined)
      throw new McdiagError("BAD_OPTION", "sweep: give --rates, or --from/--to/--steps, not both");
    return raw.rates.split(",").map((r) => rateOption(r.trim(), "--rates"));
  }
  if (raw.from === undefined || raw.to === undefined) {
    throw new McdiagError(
      "BAD_OPTION",
      "sweep: give the rates: --rates 1000,2000,5000 or --from 1000 --to 5000 --steps 5",
    );
  }
  const from = rateOption(String(raw.from), "--from");
  const to = numberOption(raw.to, "--to", from, 0, MAX_RATE_PER_SEC);
  return rateSteps(from, to, intOption(raw.steps, "--steps", 1, 1000, 5));
}
