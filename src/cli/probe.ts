import { Command } from "commander";
import { runProbe, type ProbeProgress } from "../probes/closed-loop.js";
import { isRateResult } from "../probes/fleet.js";
import { shardOptions } from "../probes/shard.js";
import { runProbeWorkers } from "../probes/workers.js";
import { addFleetOptions, fleetSettingsFrom } from "./fleet-options.js";
import { runRateProbe } from "../probes/open-loop.js";
import { latencyHistogramOf, type ProbeResult } from "../probes/result.js";
import { hgrmText } from "../report/hgrm.js";
import { fmtMs, fmtPattern, fmtRate } from "../report/format.js";
import { probeJson, renderProbe, renderRateProbe } from "../report/probe-report.js";
import { withCapture } from "../analyze/capture-run.js";
import { renderCaptureAttribution } from "../report/analyze-report.js";
import { failIfNothingAnswered } from "./all-failed.js";
import { jsonText, printJson, type CliContext } from "./context.js";
import { endpointArg, resolveEndpoint } from "./endpoint-arg.js";
import { EXIT_FINDINGS } from "./exit-codes.js";
import { parseSlos } from "../probes/slo.js";
import {
  addCaptureOptions,
  addLoadOptions,
  captureOptionsFrom,
  loadOptionsFrom,
  rateOption,
  rejectOptions,
  writeOption,
  type RawOptions,
} from "./options.js";
import { addHtmlOption, htmlPath, writeHtml } from "./html-option.js";
import { Progress } from "./progress.js";
import { checkSideFile, StreamedSideFile, writeSideFile } from "./side-files.js";
import { HdrLogWriter, type IntervalSink } from "../results/hdr-log.js";
import { formatEndpoint } from "../util/endpoint.js";

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
    .option("--json-file <file>", "also write the JSON result to this file (for merge; e.g. on a shared volume)")
    .option("--hdr-log <file>", "also write an HdrHistogram interval log: each histogram, each second, one tag each");
  addCaptureOptions(cmd, "the probe's traffic");
  addHtmlOption(cmd);
  addLoadOptions(cmd, "5s");
  addFleetOptions(cmd, true);
  cmd.addHelpText(
    "after",
    `
Examples:
  mcdiag probe 127.0.0.1:11211 --write split --no-nodelay --health-check version
  mcdiag probe [::1]:11211 --requests 10000 --json
  mcdiag probe --embedded --write split
  mcdiag probe 127.0.0.1:11211 --rate 5000 --duration 30s --pool 20 --hgrm latency.hgrm
  mcdiag probe 127.0.0.1:11211 --write split --html probe.html
  mcdiag probe 127.0.0.1:11211 --rate 5000 --duration 1m --hdr-log run.hlog     per-second histograms
  mcdiag probe 127.0.0.1:11211 --rate 40000 --workers 2 --json > r.json     two threads, one merged result
  mcdiag probe cache:11211 --rate 40000 --shard 1/4 --start-at 2026-01-01T12:00:00Z --json > w1.json
  (one worker of four on other hosts; then: mcdiag merge w0.json w1.json w2.json w3.json)

Every issued request counts: a failure is in the latency at its time to
failure, and the answered requests have a row of their own. A run whose
success is below --min-success (99 % by default), that breaks an --slo, or
whose server sent replies nobody asked for, is not healthy.

With --rate, the generator first runs its schedule unmeasured for 1 s (a
fifth of a shorter run) at the same rate, so that mcdiag's own code is
compiled before it is timed; the server sees those gets, the figures do not.
The report separates mcdiag's own part of the users' latency (scheduling
lag, late reply handling) and, on Linux, how long its thread waited for a
CPU: from 10 % of the run it warns that the client machine is too busy.

Split runs: worker I of N (--shard I/N, or --shards N with the index from
JOB_COMPLETION_INDEX or NOMAD_ALLOC_INDEX) takes its share of --rate or
--concurrency (the remainder to the lowest indices) and its slice of --keys;
--pool is per worker. --start-at makes every worker start measuring at the
same time, after its own setup; a worker already late says so and starts at
once. --workers N runs N shards on threads of this process and merges them.

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
    const fleet = fleetSettingsFrom(raw, process.env);
    const common = { ...load, write, noDelay, slos, startAt: fleet.startAtMs };
    // Each worker's share must be possible (callers, keys, rate): refused now, not after the setup.
    for (let w = 0; w < fleet.threads; w++) {
      shardOptions({ ...common, ratePerSec: rate }, [...fleet.splits, { index: w, count: fleet.threads }]);
    }
    if (ctx.parseOnly)
      return ctx.parseOnly({
        endpoint: raw.embedded === true ? "embedded" : endpointArg(arg, "probe"),
        embedded: raw.embedded === true,
        rate,
        ...common,
        ...fleet,
      });
    const hgrm = typeof raw.hgrm === "string" ? checkSideFile(raw.hgrm, "--hgrm") : undefined;
    const jsonFile = typeof raw.jsonFile === "string" ? checkSideFile(raw.jsonFile, "--json-file") : undefined;
    const hdrLog = typeof raw.hdrLog === "string" ? new StreamedSideFile(raw.hdrLog, "--hdr-log") : undefined;
    const html = htmlPath(raw);
    const target = await resolveEndpoint(arg, raw.embedded === true, "probe");
    const endpoint = {
      host: target.endpoint.host,
      port: target.endpoint.port,
      signal: ctx.signal,
      onInterval: intervalWriter(
        hdrLog,
        `mcdiag probe ${formatEndpoint(target.endpoint)}${rate !== undefined ? ` --rate ${rate}` : ""}`,
      ),
    };
    const progress = new Progress(json);
    let result: ProbeResult = undefined as unknown as ProbeResult;
    const capture = captureOptionsFrom(raw);
    const measure = async () => {
      if (rate !== undefined) {
        const durationMs = load.durationMs ?? 5000;
        const onProgress = (p: ProbeProgress) =>
          progress.fraction(
            p.elapsedMs / (p.plannedMs ?? 1),
            `${fmtRate(rate)} for ${fmtMs(p.plannedMs ?? 0)}: ${p.completed} done, ${p.errors} errors`,
          );
        const opts = { ...common, ...endpoint, durationMs, ratePerSec: rate, onProgress };
        result =
          fleet.threads > 1
            ? await runProbeWorkers({ kind: "rate", ...opts, threads: fleet.threads, splits: fleet.splits })
            : await runRateProbe(shardOptions(opts, fleet.splits));
      } else {
        const onProgress = (p: ProbeProgress) =>
          progress.update(
            `probing ${fmtPattern(write, noDelay)}: ${fmtMs(p.elapsedMs)}${p.plannedMs ? ` of ${fmtMs(p.plannedMs)}` : ""}, ` +
              `${p.completed} requests, ${p.errors} errors`,
          );
        const opts = { ...common, ...endpoint, onProgress };
        result =
          fleet.threads > 1
            ? await runProbeWorkers({ kind: "closed", ...opts, threads: fleet.threads, splits: fleet.splits })
            : await runProbe(shardOptions(opts, fleet.splits));
      }
    };
    let attribution;
    try {
      if (capture === undefined) await measure();
      else {
        const c = await withCapture(endpoint.host, endpoint.port, measure, { ...capture, signal: ctx.signal });
        attribution = c.attribution;
      }
    } catch (err) {
      try {
        hdrLog?.close();
      } catch {
        // The run's own error is the one to report.
      }
      throw err;
    } finally {
      progress.done();
      await target.release();
    }
    const doc = attribution === undefined ? probeJson(result) : { ...probeJson(result), capture: attribution };
    if (json) printJson(ctx, doc);
    else {
      const report = isRateResult(result) ? renderRateProbe(result) : renderProbe(result);
      ctx.out(attribution === undefined ? report : `${report}${renderCaptureAttribution(attribution)}`);
    }
    if (hgrm !== undefined) writeSideFile(hgrm, hgrmText(latencyHistogramOf(result)), "--hgrm");
    if (jsonFile !== undefined) writeSideFile(jsonFile, jsonText(doc), "--json-file");
    hdrLog?.close();
    writeHtml(html, "probe", doc);
    if (result.interrupted) return;
    failIfNothingAnswered(result.endpoint, [result]);
    if (!result.healthy) ctx.exitCode = EXIT_FINDINGS;
  });
  return cmd;
}

/** Each second's histograms to the interval log, when one was asked for. */
function intervalWriter(file: StreamedSideFile | undefined, what: string): IntervalSink | undefined {
  if (file === undefined) return undefined;
  const log = new HdrLogWriter((text) => file.write(text), `${what}: HdrHistogram interval log`);
  return (iv, tag, h) => log.histogram(iv, tag, h);
}
