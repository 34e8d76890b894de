import { Command } from "commander";
import { rateSteps, runSweep } from "../probes/sweep.js";
import type { RateProbeResult } from "../probes/open-loop.js";
import { parseSlos, type Slo } from "../probes/slo.js";
import { fmtMs, fmtRate } from "../report/format.js";
import { renderSweep, renderSweepStepLine, sweepJson } from "../report/sweep-report.js";
import { McdiagError } from "../util/errors.js";
import { printJson, type CliContext } from "./context.js";
import { resolveEndpoint } from "./endpoint-arg.js";
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
    .option("--embedded", "sweep a built-in server on a free loopback port");
  addHtmlOption(cmd);
  addLoadOptions(cmd, "10s");
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
