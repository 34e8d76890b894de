// What the HTML report costs, side by side with the runs it draws: a
// 1M-request probe and a ≥ 2M-packet capture. For each: the page's size
// (target ≤ 5 MB), the time to build it from the result (in-process, and as
// `mcdiag report RESULT.json --html`), and for the capture the time the
// analyzer's extra recording (packet log, timeline) adds, against an
// earlier build without it (BENCH_BASELINE_REF, default main). Target: the
// page costs at most 10 % of the run.
import { readFileSync, rmSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildAt } from "./baseline.js";
import { makeBigCapture } from "./big-capture.js";
import { median, startMemcached } from "./lib.js";
import { measure } from "./measure.js";

const BIN = fileURLToPath(new URL("../bin/mcdiag.js", import.meta.url));
const OUT = fileURLToPath(new URL("./out/", import.meta.url));
const REQUESTS = Number(process.env.BENCH_HTML_REQUESTS ?? 1_000_000);
const MIN_PACKETS = Number(process.env.BENCH_PACKETS ?? 2_000_000);
const ROUNDS = 3;
const MAX_BYTES = 5 * 1024 * 1024;

export async function htmlReportCost() {
  const { htmlReport } = await import("../dist/report/html/index.js");
  const build = (kind, file) => {
    const doc = JSON.parse(readFileSync(file, "utf8"));
    const t0 = process.hrtime.bigint();
    const html = htmlReport(kind, doc, "mcdiag bench");
    return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, bytes: Buffer.byteLength(html) };
  };

  // A 1M-request closed-loop probe against memcached on loopback.
  const mc = await startMemcached();
  let probe;
  try {
    const json = `${OUT}html-probe.json`;
    const args = ["probe", `127.0.0.1:${mc.port}`, "--requests", String(REQUESTS), "--concurrency", "16"];
    const run = await measure(process.execPath, [BIN, ...args, "--pool", "16", "--nodelay", "--json"], {
      stdout: json,
    });
    const inProcess = build("probe", json);
    const cli = await measure(process.execPath, [BIN, "report", json, "--html", `${OUT}html-probe.html`]);
    probe = {
      requests: JSON.parse(readFileSync(json, "utf8")).requests,
      runSeconds: round(run.seconds),
      jsonMb: round(statSync(json).size / 1e6),
      htmlMb: round(inProcess.bytes / 1e6),
      buildSeconds: round(inProcess.seconds),
      reportCommandSeconds: round(cli.seconds),
      share: round(inProcess.seconds / run.seconds),
    };
  } finally {
    mc.stop();
  }

  // A ≥ 2M-packet capture: analyze with this build and with the baseline, alternating.
  const capture = `${OUT}html-big.pcap`;
  const { port } = await makeBigCapture(capture, MIN_PACKETS);
  const baseline = buildAt(process.env.BENCH_BASELINE_REF ?? "main");
  let analyze;
  try {
    const json = `${OUT}html-analyze.json`;
    const ours = [];
    const theirs = [];
    for (let i = 0; i < ROUNDS; i++) {
      ours.push(
        (await measure(process.execPath, [BIN, "analyze", capture, "--port", String(port), "--json"], { stdout: json }))
          .seconds,
      );
      theirs.push(
        (await measure(process.execPath, [baseline.bin, "analyze", capture, "--port", String(port), "--json"])).seconds,
      );
    }
    const inProcess = build("analyze", json);
    const cli = await measure(process.execPath, [BIN, "report", json, "--html", `${OUT}html-analyze.html`]);
    const doc = JSON.parse(readFileSync(json, "utf8"));
    const oursS = median(ours);
    const theirsS = median(theirs);
    analyze = {
      packets: doc.packets,
      requests: doc.requests.total,
      baseline: baseline.commit,
      analyzeSeconds: round(oursS),
      baselineSeconds: round(theirsS),
      recordingShare: round(oursS / theirsS - 1),
      htmlMb: round(inProcess.bytes / 1e6),
      buildSeconds: round(inProcess.seconds),
      reportCommandSeconds: round(cli.seconds),
      share: round((oursS - theirsS + inProcess.seconds) / theirsS),
    };
  } finally {
    baseline.cleanup();
    if (!process.env.BENCH_KEEP) rmSync(capture, { force: true });
  }
  return {
    name: "HTML report: size and cost beside the run it draws",
    probe,
    analyze,
    target: "page ≤ 5 MB; building it (analyze: with the extra recording) ≤ 10 % of the run",
    pass:
      probe.htmlMb * 1e6 <= MAX_BYTES &&
      analyze.htmlMb * 1e6 <= MAX_BYTES &&
      probe.share <= 0.1 &&
      analyze.share <= 0.1,
  };
}

function round(x) {
  return Math.round(x * 1000) / 1000;
}
