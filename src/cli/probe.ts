import { Command } from "commander";
import { runProbe } from "../probes/closed-loop.js";
import { runRateProbe } from "../probes/open-loop.js";
import { latencyHistogramOf, type ProbeResult } from "../probes/result.js";
import { hgrmText } from "../report/hgrm.js";
import { fmtMs, fmtPattern, fmtRate } from "../report/format.js";
import { renderProbe, renderRateProbe } from "../report/probe-report.js";
import { withCapture } from "../analyze/capture-run.js";
import { renderCaptureAttribution } from "../report/analyze-report.js";
import { failIfNothingAnswered } from "./all-failed.js";
import { printJson, type CliContext } from "./context.js";
import { resolveEndpoint } from "./endpoint-arg.js";
import { EXIT_FINDINGS } from "./exit-codes.js";
import { parseSlos } from "../probes/slo.js";
import {
  addLoadOptions,
  loadOptionsFrom,
  numberOption,
  rateOption,
  rejectOptions,
  writeOption,
  type RawOptions,
} from "./options.js";
import { addHtmlOption, htmlPath, writeHtml } from "./html-option.js";
import { Progress } from "./progress.js";
import { checkSideFile, writeSideFile } from "./side-files.js";

export function probeCommand(ctx: CliContext): Command {
  const cmd = new Command("probe")
    .description("measure an endpoint the way a pooled client talks to it: pool wait, health check, wire")
    .argument("[endpoint]", "host:port of memcached, mcrouter or twemproxy ([::1]:11211 for IPv6)")
    .option("--write <strategy>", "how each command is written: coalesced, split, corked", "coalesced")
    .option("--nodelay", "set TCP_NODELAY (Nagle off)")
    .option("--no-nodelay", "leave Nagle on (TCP_NODELAY off), the default")
    .option("--embedded", "probe a built-in server on a free loopback port")
    .option("--rate <n>", "constant rate (requests/s), issued on schedule whatever the responses do (open loop)")
    .option(
      "--slo <list>",
      'objectives judged on every request, e.g. "p99<5ms,success>=99.9%" (p50…p99.99, mean, max, success, errors, stalled)',
    )
    .option("--hgrm <file>", "also write the latency histogram in HdrHistogram's percentile format (ms)")
    .option("--capture [file]", "record the probe's traffic with tcpdump (root) and give every slow request a cause")
    .option("--slow <ms>", "with --capture: a request this long on the wire is slow", "20");
  addHtmlOption(cmd);
  addLoadOptions(cmd, "5s");
  cmd.addHelpText(
    "after",
    `
Examples:
  mcdiag probe 127.0.0.1:11211 --write split --no-nodelay --health-check version
  mcdiag probe [::1]:11211 --requests 10000 --json
  mcdiag probe --embedded --write split
  mcdiag probe 127.0.0.1:11211 --rate 5000 --duration 30s --pool 20 --hgrm latency.hgrm
  mcdiag probe 127.0.0.1:11211 --write split --html probe.html

Every issued request counts: a failure is in the latency at its time to
failure, and the answered requests have a row of their own. A run whose
success is below --min-success (99 % by default), that breaks an --slo, or
whose server sent replies nobody asked for, is not healthy.

Exit codes: 0 healthy; 1 not healthy (success floor, SLO, stray replies);
2 bad usage or endpoint unreachable; 3 every request failed; 130 interrupted
(the partial report is printed first).`,
  );
  cmd.action(async (arg: string | undefined, raw: RawOptions) => {
    const load = loadOptionsFrom({ ...raw, durationExplicit: cmd.getOptionValueSource("duration") === "cli" });
    const write = writeOption(raw.write);
    const noDelay = raw.nodelay === true;
    const json = raw.json === true;
    const rate = typeof raw.rate === "string" ? rateOption(raw.rate, "--rate") : undefined;
    if (rate !== undefined) {
      rejectOptions(cmd, "a constant-rate probe (--rate sets the load, not callers or a count)", [
        "--concurrency",
        "--requests",
      ]);
    }
    const slos = typeof raw.slo === "string" ? parseSlos(raw.slo) : undefined;
    const hgrm = typeof raw.hgrm === "string" ? checkSideFile(raw.hgrm, "--hgrm") : undefined;
    const html = htmlPath(raw);
    const target = await resolveEndpoint(arg, raw.embedded === true, "probe");
    const common = {
      ...load,
      host: target.endpoint.host,
      port: target.endpoint.port,
      write,
      noDelay,
      slos,
      signal: ctx.signal,
    };
    const progress = new Progress(json);
    let result: ProbeResult = undefined as unknown as ProbeResult;
    let report = "";
    const capture = raw.capture === undefined ? undefined : typeof raw.capture === "string" ? raw.capture : "";
    const measure = async () => {
      if (rate !== undefined) {
        const r = await runRateProbe({
          ...common,
          durationMs: load.durationMs ?? 5000,
          ratePerSec: rate,
          onProgress: (p) =>
            progress.fraction(
              p.elapsedMs / (p.plannedMs ?? 1),
              `${fmtRate(rate)} for ${fmtMs(p.plannedMs ?? 0)}: ${p.completed} done, ${p.errors} errors`,
            ),
        });
        result = r;
        report = json ? "" : renderRateProbe(r);
      } else {
        result = await runProbe({
          ...common,
          onProgress: (p) =>
            progress.update(
              `probing ${fmtPattern(write, noDelay)}: ${fmtMs(p.elapsedMs)}${p.plannedMs ? ` of ${fmtMs(p.plannedMs)}` : ""}, ` +
                `${p.completed} requests, ${p.errors} errors`,
            ),
        });
        report = json ? "" : renderProbe(result);
      }
    };
    let attribution;
    try {
      if (capture === undefined) await measure();
      else {
        const slowMs = numberOption(raw.slow, "--slow", 0.001, 20);
        const c = await withCapture(common.host, common.port, measure, {
          slowMs,
          keepFile: capture || undefined,
          signal: ctx.signal,
        });
        attribution = c.attribution;
      }
    } finally {
      progress.done();
      await target.release();
    }
    const doc = attribution === undefined ? result : { ...result, capture: attribution };
    if (json) printJson(ctx, doc);
    else ctx.out(attribution === undefined ? report : `${report}${renderCaptureAttribution(attribution)}`);
    if (hgrm !== undefined) writeSideFile(hgrm, hgrmText(latencyHistogramOf(result)), "--hgrm");
    writeHtml(html, "probe", doc);
    if (result.interrupted) return;
    failIfNothingAnswered(result.endpoint, [result]);
    if (!result.healthy) ctx.exitCode = EXIT_FINDINGS;
  });
  return cmd;
}
