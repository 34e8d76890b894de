import { Command } from "commander";
import {
  isRateResult,
  mergeProbeResults,
  mergeSweepResults,
  probeInputOf,
  sweepInputOf,
  type FleetOptions,
} from "../probes/fleet.js";
import { parseSlos } from "../probes/slo.js";
import { probeJson, renderProbe, renderRateProbe } from "../report/probe-report.js";
import { renderSweep, sweepJson } from "../report/sweep-report.js";
import { analysisJson, renderAnalysis } from "../report/analyze-report.js";
import { analysisInputOf, mergeAnalyses } from "../analyze/merge.js";
import { readResults, type LoadedResult } from "../results/read.js";
import type { RecordKind } from "../results/record.js";
import { McdiagError } from "../util/errors.js";
import { failIfAnyRunFailed, failIfNothingAnswered } from "./all-failed.js";
import { printJson, type CliContext } from "./context.js";
import { EXIT_FINDINGS } from "./exit-codes.js";
import { percentOption, type RawOptions } from "./options.js";
import { addHtmlOption, htmlPath, writeHtml } from "./html-option.js";
import { fmtRate } from "../report/format.js";

/** How the merged result is written: tables or JSON on stdout, and the page with --html. */
interface Output {
  json: boolean;
  html: string | undefined;
}

/** What `merge` does with each kind of result; a kind without an entry cannot be merged (yet). */
const MERGERS: Partial<
  Record<RecordKind, (ctx: CliContext, loaded: LoadedResult[], o: FleetOptions, out: Output) => void>
> = {
  probe: mergeProbes,
  sweep: mergeSweeps,
  analyze: mergeAnalysisResults,
};

export function mergeCommand(ctx: CliContext): Command {
  const cmd = new Command("merge")
    .description("merge the results of one run split across workers (hosts, pods, threads) into one, exactly")
    .argument("<results...>", "result files written with --json, or directories of them")
    .option(
      "--slo <list>",
      'judge the merged result by these objectives instead of the ones the runs had, e.g. "p99<5ms"',
    )
    .option("--min-success <percent>", "success floor for the merged result (default: the runs' own)")
    .option("--json", "print the merged result as JSON (itself mergeable) instead of tables");
  addHtmlOption(cmd);
  cmd.addHelpText(
    "after",
    `
Reads probe or sweep results (--json) of one run split with --shard or run on
many hosts, and prints the fleet's result as one run would: histograms merged
bucket by bucket and percentiles read from the merge, counts and error kinds
summed, rates over the union of the workers' windows on the wall clock,
Little's law for the fleet, the SLOs judged on the merged latency, and one
row per worker to show who fell behind. Analyze results (analyze --json) of
separate captures merge the same way: counts, stalls and causes summed, every
percentile and typical figure read from the merged histograms. A directory is
read whole: every file in it must be a result.

Examples:
  mcdiag merge results/
  mcdiag merge w0.json w1.json w2.json --slo "p99<2ms,success>=99.9%"
  mcdiag merge results/ --html fleet.html      the merged run's page, one row per worker
  mcdiag merge web1-analyze.json web2-analyze.json     captures of two hosts as one
  pdsh -R ssh -w 'web[1-4]' 'mcdiag probe cache:11211 --rate 40000 --shard %n/4 --start-at 1767225600000 --json' | dshbak -d results && mcdiag merge results

Exit codes: 0 the merged run is healthy; 1 it is not (success floor, SLO,
stray replies, a worker interrupted); 2 bad input (a file cut short, not a
result, a histogram that does not decode, results of different runs or
kinds); 3 every request failed.`,
  );
  cmd.action((paths: string[], raw: RawOptions) => {
    const html = htmlPath(raw);
    const loaded = readResults(paths);
    const kinds = new Set(loaded.map((l) => l.kind));
    if (kinds.size > 1) {
      const a = loaded[0]!;
      const b = loaded.find((l) => l.kind !== a.kind)!;
      throw new McdiagError(
        "BAD_INPUT",
        `${b.file} is ${article(b.kind)} ${b.kind} result, ${a.file} ${article(a.kind)} ${a.kind} result: merge one kind at a time`,
        { file: b.file },
      );
    }
    const kind = loaded[0]!.kind;
    const merger = MERGERS[kind];
    if (merger === undefined) {
      throw new McdiagError(
        "BAD_INPUT",
        `${loaded[0]!.file}: ${kind} results cannot be merged; merge reads probe, sweep and analyze results`,
      );
    }
    const o: FleetOptions = {};
    if (typeof raw.slo === "string") o.slos = parseSlos(raw.slo);
    if (typeof raw.minSuccess === "string") o.minSuccessRatio = percentOption(raw.minSuccess, "--min-success", 0.99);
    merger(ctx, loaded, o, { json: raw.json === true, html });
  });
  return cmd;
}

function article(kind: RecordKind): string {
  return kind === "analyze" ? "an" : "a";
}

/** Analyses of separate captures: counts summed, histograms merged; SLOs and the success floor do not apply. */
function mergeAnalysisResults(ctx: CliContext, loaded: LoadedResult[], o: FleetOptions, out: Output): void {
  if (o.slos !== undefined || o.minSuccessRatio !== undefined) {
    throw new McdiagError("BAD_OPTION", "merge: --slo and --min-success judge probe and sweep results, not analyses");
  }
  const r = mergeAnalyses(loaded.map((l) => analysisInputOf(l.doc, l.file)));
  if (out.json) printJson(ctx, analysisJson(r));
  else ctx.out(renderAnalysis(r, { showKeys: r.stalls.items.some((i) => i.key !== undefined) }));
  writeHtml(out.html, "analyze", analysisJson(r));
}

function mergeProbes(ctx: CliContext, loaded: LoadedResult[], o: FleetOptions, out: Output): void {
  const r = mergeProbeResults(
    loaded.map((l) => probeInputOf(l.doc, l.file, l.file)),
    o,
  );
  if (out.json) printJson(ctx, probeJson(r));
  else ctx.out(isRateResult(r) ? renderRateProbe(r) : renderProbe(r));
  writeHtml(out.html, "probe", probeJson(r));
  failIfNothingAnswered(r.endpoint, [r]);
  if (!r.healthy) ctx.exitCode = EXIT_FINDINGS;
}

function mergeSweeps(ctx: CliContext, loaded: LoadedResult[], o: FleetOptions, out: Output): void {
  const r = mergeSweepResults(
    loaded.map((l) => sweepInputOf(l.doc, l.file, l.file)),
    o,
  );
  if (out.json) printJson(ctx, sweepJson(r));
  else ctx.out(renderSweep(r, o.slos?.map((s) => s.text).join(",")));
  writeHtml(out.html, "sweep", sweepJson(r));
  failIfAnyRunFailed(r.endpoint, r.runs, (run) => `the ${fmtRate(isRateResult(run) ? run.requestedRate : 0)} step`);
  if (r.steps.some((s) => !s.sloMet)) ctx.exitCode = EXIT_FINDINGS;
}
