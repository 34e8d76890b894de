// Capture analysis speed and memory, side by side on the same ≥ 2 M-packet
// captures: mcdiag analyze (full analysis) vs tcpdump merely printing packet
// headers, on 10 long flows and on the same packets as thousands of flows;
// the same build reading classic pcap with mcdiag's own reader instead of
// pcap-parser (what the library costs); an earlier build from before cause
// attribution (what attribution costs); and tshark extracting memcached
// commands on the 10-flow capture.
//
// Every tool runs once per round, in turn, and rounds alternate; medians are
// reported, as wall time and as CPU time (user + sys), since wall time on a
// shared machine swings with whatever else runs. The targets are judged on
// CPU time.
import { readFileSync, rmSync, writeFileSync, cpSync, symlinkSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildAt } from "./baseline.js";
import { BENCH_MIN_PACKETS, benchCaptures } from "./big-capture.js";
import { hasCommand, median } from "./lib.js";
import { measure } from "./measure.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "bin/mcdiag.js");
/** Alternating rounds per tool and capture; medians are reported (this machine's timings swing between runs). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** The build before cause attribution, to measure what attribution costs. */
const PRE_ATTRIBUTION_REF = process.env.BENCH_PRE_ATTRIBUTION_REF ?? "25172da";

export async function analyzeVsTshark() {
  for (const tool of ["tshark", "tcpdump"])
    if (!hasCommand(tool)) throw new Error(`${tool} is needed (Debian: apt-get install tshark tcpdump)`);
  const { dir, few, many, made, dispose } = await benchCaptures();
  const { port, sizeBytes, flows } = made;
  const own = ownReaderBuild();
  const pre = buildAt(PRE_ATTRIBUTION_REF);
  try {
    const captures = [
      ["fewFlows", few],
      ["manyFlows", many],
    ];
    const analyze = (bin) => (file, out) =>
      measure(process.execPath, [bin, "analyze", file, "--port", String(port), "--json"], { stdout: out });
    const tools = [
      ["mcdiag", analyze(BIN)],
      ["tcpdump", (file) => measure("tcpdump", ["-nn", "-r", file])],
      ["ownReader", analyze(own.bin)],
      ["preAttribution", analyze(pre.bin)],
    ];
    const times = {};
    for (const [name] of captures) times[name] = Object.fromEntries(tools.map(([t]) => [t, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, file] of captures) {
        for (const [tool, run] of tools) {
          const out = `${dir}${name}-${tool}.json`;
          times[name][tool].push(await run(file, out));
        }
      }
    }
    const runs = {};
    for (const [name, file] of captures) {
      const result = JSON.parse(readFileSync(`${dir}${name}-mcdiag.json`, "utf8"));
      if (result.packets < BENCH_MIN_PACKETS)
        throw new Error(`${file} holds ${result.packets} packets, fewer than ${BENCH_MIN_PACKETS}`);
      // The same findings whichever classic-pcap reader read the file.
      const other = JSON.parse(readFileSync(`${dir}${name}-ownReader.json`, "utf8"));
      if (JSON.stringify({ ...other, file: "" }) !== JSON.stringify({ ...result, file: "" }))
        throw new Error(`${file}: pcap-parser and mcdiag's own reader gave different results`);
      const t = times[name];
      const m = (tool, k) => median(t[tool].map((x) => x[k]));
      const s = (tool) => ({
        wallSeconds: round(m(tool, "seconds")),
        cpuSeconds: round(m(tool, "cpuSeconds")),
        cpuNsPerPacket: Math.round((m(tool, "cpuSeconds") * 1e9) / result.packets),
        peakRssMb: Math.max(...t[tool].map((x) => x.peakRssMb)),
      });
      runs[name] = {
        packets: result.packets,
        memcachedFlows: result.memcachedFlows,
        requests: result.requests.total,
        stalls: result.stalls.request + result.stalls.response,
        slowRequests: result.slowRequests,
        mcdiag: s("mcdiag"),
        tcpdump: s("tcpdump"),
        ownReader: s("ownReader"),
        preAttribution: s("preAttribution"),
        speedupVsTcpdumpCpu: round(m("tcpdump", "cpuSeconds") / m("mcdiag", "cpuSeconds")),
        speedupVsTcpdumpWall: round(m("tcpdump", "seconds") / m("mcdiag", "seconds")),
        ownReaderSpeedupVsTcpdumpCpu: round(m("tcpdump", "cpuSeconds") / m("ownReader", "cpuSeconds")),
        pcapParserCostCpu: round(m("mcdiag", "cpuSeconds") / m("ownReader", "cpuSeconds")),
        vsPreAttributionCpu: round(m("mcdiag", "cpuSeconds") / m("preAttribution", "cpuSeconds")),
        vsPreAttributionWall: round(m("mcdiag", "seconds") / m("preAttribution", "seconds")),
        ownReaderVsPreAttributionCpu: round(m("ownReader", "cpuSeconds") / m("preAttribution", "cpuSeconds")),
      };
    }
    const tshark = await measure("tshark", [
      "-r",
      few,
      "-d",
      `tcp.port==${port},memcache`,
      "-T",
      "fields",
      "-e",
      "frame.number",
      "-e",
      "memcache.command",
    ]);
    const a = runs.fewFlows;
    const b = runs.manyFlows;
    const spread =
      Math.max(a.mcdiag.cpuSeconds, b.mcdiag.cpuSeconds) / Math.min(a.mcdiag.cpuSeconds, b.mcdiag.cpuSeconds) - 1;
    return {
      name: "analyze vs tcpdump and tshark (same packets as 10 and as thousands of flows)",
      rounds: ROUNDS,
      captureMb: Math.round(sizeBytes / 1e6),
      flowsInManyFlowCopy: flows,
      preAttributionBuild: pre.commit,
      ...Object.fromEntries(Object.entries(runs).flatMap(([k, v]) => flatten(k, v))),
      flowCountCpuSpread: round(spread),
      tsharkSeconds: round(tshark.seconds),
      tsharkCpuSeconds: round(tshark.cpuSeconds),
      tsharkPeakRssMb: tshark.peakRssMb,
      speedupVsTsharkCpu: round(tshark.cpuSeconds / a.mcdiag.cpuSeconds),
      target:
        "CPU time: each ≥ 2× tcpdump -nn -r, the two within 25 % of each other, attribution ≤ 1.15× the build before it (both reading with mcdiag's own reader, as that build did; pcap-parser's cost is reported apart, as pcapParserCostCpu); peak RSS < 300 MB; ≥ 10× tshark",
      pass:
        a.speedupVsTcpdumpCpu >= 2 &&
        b.speedupVsTcpdumpCpu >= 2 &&
        spread <= 0.25 &&
        a.ownReaderVsPreAttributionCpu <= 1.15 &&
        b.ownReaderVsPreAttributionCpu <= 1.15 &&
        a.mcdiag.peakRssMb < 300 &&
        b.mcdiag.peakRssMb < 300 &&
        tshark.cpuSeconds / a.mcdiag.cpuSeconds >= 10,
    };
  } finally {
    own.cleanup();
    pre.cleanup();
    dispose();
  }
}

/**
 * This build with classic µs pcap read by mcdiag's own reader (the one that
 * reads ns pcap) instead of pcap-parser: the compiled files copied and the
 * reader's choice edited, nothing else changed.
 */
function ownReaderBuild() {
  const dir = mkdtempSync(join(tmpdir(), "mcdiag-own-reader-"));
  for (const d of ["dist", "bin", "package.json"]) cpSync(join(ROOT, d), join(dir, d), { recursive: true });
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  const file = join(dir, "dist/analyze/capture.js");
  const src = readFileSync(file, "utf8");
  const edited = src.replace("new PcapParserReader(", "new PcapReader(");
  if (edited === src) throw new Error("bench: cannot find where dist/analyze/capture.js picks pcap-parser");
  writeFileSync(file, edited);
  return { bin: join(dir, "bin/mcdiag.js"), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function flatten(prefix, v) {
  if (typeof v !== "object" || v === null) return [[prefix, v]];
  return Object.entries(v).flatMap(([k, x]) => flatten(`${prefix}.${k}`, x));
}

const round = (x) => Math.round(x * 100) / 100;
