import { Command } from "commander";
import { withCapture } from "../analyze/capture-run.js";
import { runCompare, type CompareResult } from "../probes/compare.js";
import { renderCaptureAttribution } from "../report/analyze-report.js";
import { compareJson, renderCompare } from "../report/compare-report.js";
import { fmtMs, fmtPattern } from "../report/format.js";
import { failIfAnyRunFailed, failIfNothingAnswered } from "./all-failed.js";
import { EXIT_FINDINGS } from "./exit-codes.js";
import { printJson, type CliContext } from "./context.js";
import { resolveEndpoint } from "./endpoint-arg.js";
import { addCaptureOptions, addLoadOptions, captureOptionsFrom, loadOptionsFrom, type RawOptions } from "./options.js";
import { addHtmlOption, htmlPath, writeHtml } from "./html-option.js";
import { Progress } from "./progress.js";

/** Shared by `compare` and `demo`: runs the matrix and reports it. */
export async function compareAndReport(
  ctx: CliContext,
  host: string,
  port: number,
  raw: RawOptions,
  durationExplicit: boolean,
): Promise<CompareResult> {
  const load = loadOptionsFrom({ ...raw, durationExplicit });
  const capture = captureOptionsFrom(raw);
  const json = raw.json === true;
  const html = htmlPath(raw);
  const progress = new Progress(json);
  let result: CompareResult;
  let attribution;
  const compare = (endPhase?: (name: string) => void) =>
    runCompare({
      ...load,
      host,
      port,
      all: raw.all === true,
      signal: ctx.signal,
      onProgress: (pat, i, of, p) =>
        progress.update(
          `[${i + 1}/${of}] ${fmtPattern(pat.write, pat.noDelay)}: ${fmtMs(p.elapsedMs)}${p.plannedMs ? ` of ${fmtMs(p.plannedMs)}` : ""}, ${p.completed} requests`,
        ),
      onRunDone: endPhase && ((r) => endPhase(fmtPattern(r.write, r.noDelay))),
    });
  try {
    if (capture === undefined) result = await compare();
    else ({ result, attribution } = await withCapture(host, port, compare, { ...capture, signal: ctx.signal }));
  } finally {
    progress.done();
  }
  if (json) printJson(ctx, attribution ? { ...compareJson(result), capture: attribution } : compareJson(result));
  else ctx.out(renderCompare(result) + (attribution ? renderCaptureAttribution(attribution) : ""));
  writeHtml(html, "compare", compareJson(result));
  if (result.interrupted) return result;
  failIfNothingAnswered(result.endpoint, result.runs);
  failIfAnyRunFailed(result.endpoint, result.runs, (r) => fmtPattern(r.write, r.noDelay));
  if (result.runs.some((r) => !r.healthy)) ctx.exitCode = EXIT_FINDINGS;
  return result;
}

export function compareCommand(ctx: CliContext): Command {
  const cmd = new Command("compare")
    .description("run the same load with each write pattern × Nagle setting and show the stall side by side")
    .argument("[endpoint]", "host:port ([::1]:11211 for IPv6)")
    .option("--all", "also run corked writes (cork/uncork)")
    .option("--embedded", "compare against a built-in server on a free loopback port");
  addCaptureOptions(cmd, "each pattern's traffic");
  addHtmlOption(cmd);
  addLoadOptions(cmd, "2s");
  cmd.addHelpText(
    "after",
    `
Runs {split, coalesced} × {Nagle on, TCP_NODELAY} one after another, --duration each.

Examples:
  mcdiag compare 127.0.0.1:11211
  mcdiag compare 127.0.0.1:22122 --health-check version --duration 5s --all
  mcdiag compare --embedded --json
  mcdiag compare 127.0.0.1:11211 --html compare.html

Exit codes: 0 every pattern healthy; 1 a pattern below --min-success (99 %)
or with stray replies; 2 bad usage or endpoint unreachable; 3 every request of
some pattern failed (the comparison cannot be trusted); 130 interrupted.`,
  );
  cmd.action(async (arg: string | undefined, raw: RawOptions) => {
    const target = await resolveEndpoint(arg, raw.embedded === true, "compare");
    try {
      await compareAndReport(
        ctx,
        target.endpoint.host,
        target.endpoint.port,
        raw,
        cmd.getOptionValueSource("duration") === "cli",
      );
    } finally {
      await target.release();
    }
  });
  return cmd;
}
