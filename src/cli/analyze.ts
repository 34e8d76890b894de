import { Command } from "commander";
import { ANALYZE_DEFAULTS } from "../analyze/analyzer.js";
import { analyzeInParallel } from "../analyze/parallel.js";
import { analysisJson, renderAnalysis } from "../report/analyze-report.js";
import { printJson, type CliContext } from "./context.js";
import { EXIT_FINDINGS } from "./exit-codes.js";
import { collectList, durationOption, intOption, numberOption, portsOption, type RawOptions } from "./options.js";
import { addHtmlOption, htmlPath, writeHtml } from "./html-option.js";
import { Progress } from "./progress.js";

export function analyzeCommand(ctx: CliContext): Command {
  const cmd = new Command("analyze")
    .description(
      "find every Nagle/delayed-ACK stall of memcached traffic in a pcap or pcapng capture, and the cause of every slow request",
    )
    .argument(
      "<file...>",
      "capture file (pcap, pcapng, optionally .gz), - for stdin, or several files or a directory (a ring buffer): read as one capture in time order",
    )
    .option(
      "--port <n>",
      "another memcached server port (repeat, or a comma list); 11211 is always included",
      collectList,
      [],
    )
    .option(
      "--stall-threshold <ms>",
      "a gap this long inside a message can be a stall",
      String(ANALYZE_DEFAULTS.stallThresholdMs),
    )
    .option(
      "--ack-window <ms>",
      "the held segment must follow the peer's pure ACK within this",
      String(ANALYZE_DEFAULTS.ackWindowMs),
    )
    .option(
      "--slow <ms>",
      "an exchange this long (first request byte → last response byte) is slow, and is given a cause",
      String(ANALYZE_DEFAULTS.slowMs),
    )
    .option("--show-keys", "show memcached keys (off by default: production keys can be sensitive)")
    .option("--top <n>", "exchanges listed as the worst", String(ANALYZE_DEFAULTS.top))
    .option("--max-items <n>", "stall items listed in --json (the rest are counted)", String(ANALYZE_DEFAULTS.maxItems))
    .option(
      "--idle-timeout <duration>",
      "finish a flow silent this long in capture time (its memory is freed; later traffic counts as a new flow)",
      "5m",
    )
    .option(
      "--max-flows <n>",
      "flows tracked at once; beyond this the least recently active is finished (bounds memory)",
      String(ANALYZE_DEFAULTS.maxFlows),
    )
    .option("--threads <n>", "threads that analyse, this one included; the result is the same on any number", "1")
    .option("--fail-on-stall", "exit 1 when any stall is found (for CI)")
    .option("--json", "print JSON for machines instead of tables");
  addHtmlOption(cmd);
  cmd.addHelpText(
    "after",
    `
Examples:
  mcdiag analyze capture.pcapng
  mcdiag analyze prod.pcap.gz --port 5000 --port 22122 --top 20
  tcpdump -i any -w - 'tcp port 11211' | mcdiag analyze - --json
  mcdiag analyze ci.pcap --fail-on-stall
  mcdiag analyze capture.pcapng --html analyze.html
  mcdiag analyze ring/        the files of tcpdump -C -W or dumpcap -b, as one capture
  mcdiag analyze hosts/ --threads 2     separate captures, two at a time

Capture with full packets (tcpdump -s 0, the default today) so payloads can be parsed.
Exit codes: 0 analysed; 1 stalls found with --fail-on-stall; 2 unreadable input
(missing file, not a capture, unsupported version); 70 internal error; 130
interrupted (the report of the packets read so far is printed first). A file
cut short or damaged (gzip included) is analysed up to the damage, with a warning.
Several files are ordered by their first packet and read as one continuous
capture: a connection spanning files is followed across them, and frame numbers
run on from file to file (the report lists each file's first frame; frame N is
frame N - first + 1 of its file, or frame N of mergecap -w all.pcapng FILES).
Files that overlap in time (captures of several hosts) or differ in format are
separate captures: each is analysed alone and the results merged exactly.
--threads N splits the work between N threads (one capture by flow, every
thread reading it whole; separate captures by file); the result is the
one-thread result. Only separate captures gained from it on two cores.`,
  );
  cmd.action(async (files: string[], raw: RawOptions & { port: string[] }) => {
    const json = raw.json === true;
    const ports = portsOption(raw.port);
    const html = htmlPath(raw);
    const progress = new Progress(json);
    const started = Date.now();
    let result;
    try {
      result = await analyzeInParallel({
        input: files.length === 1 ? files[0]! : files,
        threads: intOption(raw.threads, "--threads", 1, 256, 1),
        ports,
        stallThresholdMs: numberOption(
          raw.stallThreshold,
          "--stall-threshold",
          0.001,
          ANALYZE_DEFAULTS.stallThresholdMs,
        ),
        ackWindowMs: numberOption(raw.ackWindow, "--ack-window", 0, ANALYZE_DEFAULTS.ackWindowMs),
        slowMs: numberOption(raw.slow, "--slow", 0.001, ANALYZE_DEFAULTS.slowMs),
        showKeys: raw.showKeys === true,
        top: intOption(raw.top, "--top", 0, 10_000, ANALYZE_DEFAULTS.top),
        maxItems: intOption(raw.maxItems, "--max-items", 0, 10_000_000, ANALYZE_DEFAULTS.maxItems),
        idleTimeoutMs: durationOption(raw.idleTimeout, "--idle-timeout") ?? ANALYZE_DEFAULTS.idleTimeoutMs,
        maxFlows: intOption(raw.maxFlows, "--max-flows", 1, 100_000_000, ANALYZE_DEFAULTS.maxFlows),
        signal: ctx.signal,
        onProgress: (p) => {
          if (Date.now() - started < 1000) return; // small files finish before a bar is worth drawing
          const label = `analysing ${files.join(", ")}: ${p.packets.toLocaleString("en-US")} packets`;
          if (p.totalBytes) progress.fraction(p.bytesRead / p.totalBytes, label);
          else progress.update(label);
        },
      });
    } finally {
      progress.done();
    }
    if (json) printJson(ctx, analysisJson(result));
    else ctx.out(renderAnalysis(result, { showKeys: raw.showKeys === true }));
    writeHtml(html, "analyze", analysisJson(result));
    if (raw.failOnStall === true && result.stalls.request + result.stalls.response > 0) ctx.exitCode = EXIT_FINDINGS;
  });
  return cmd;
}
