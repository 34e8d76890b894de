// Capture analysis speed and memory, side by side on the same ≥ 2 M-packet
// captures: mcdiag analyze (full analysis) vs tcpdump merely printing packet
// headers, on 10 long flows and on the same packets as thousands of flows;
// and vs tshark extracting memcached commands on the 10-flow capture.
import { readFileSync, mkdirSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { makeBigCapture, manyFlowsCopy } from "./big-capture.js";
import { hasCommand } from "./lib.js";
import { measure } from "./measure.js";

const BIN = fileURLToPath(new URL("../bin/mcdiag.js", import.meta.url));
const MIN_PACKETS = Number(process.env.BENCH_PACKETS ?? 2_000_000);
const MANY_FLOWS = 2_500;
/** Alternating rounds per tool and capture; medians are reported (this machine's timings swing between runs). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

export async function analyzeVsTshark() {
  for (const tool of ["tshark", "tcpdump"])
    if (!hasCommand(tool)) throw new Error(`${tool} is needed (Debian: apt-get install tshark tcpdump)`);
  const dir = fileURLToPath(new URL("./out/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  const few = `${dir}big.pcap`;
  const many = `${dir}big-many-flows.pcap`;
  const { port, sizeBytes } = await makeBigCapture(few, MIN_PACKETS);
  try {
    const flows = manyFlowsCopy(few, many, port, MANY_FLOWS);
    const captures = [
      ["fewFlows", few],
      ["manyFlows", many],
    ];
    const times = Object.fromEntries(captures.map(([name]) => [name, { ours: [], tcpdump: [], rss: [] }]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, file] of captures) {
        const out = `${dir}${name}-analysis.json`;
        const ours = await measure(process.execPath, [BIN, "analyze", file, "--port", String(port), "--json"], {
          stdout: out,
        });
        const tcpdump = await measure("tcpdump", ["-nn", "-r", file]);
        times[name].ours.push(ours.seconds);
        times[name].rss.push(ours.peakRssMb);
        times[name].tcpdump.push(tcpdump.seconds);
      }
    }
    const runs = {};
    for (const [name, file] of captures) {
      const result = JSON.parse(readFileSync(`${dir}${name}-analysis.json`, "utf8"));
      if (result.packets < MIN_PACKETS)
        throw new Error(`${file} holds ${result.packets} packets, fewer than ${MIN_PACKETS}`);
      const ours = { seconds: median(times[name].ours), peakRssMb: Math.max(...times[name].rss) };
      const tcpdump = { seconds: median(times[name].tcpdump) };
      runs[name] = {
        packets: result.packets,
        memcachedFlows: result.memcachedFlows,
        requests: result.requests.total,
        stalls: result.stalls.request + result.stalls.response,
        mcdiagSeconds: round(ours.seconds),
        mcdiagNsPerPacket: Math.round((ours.seconds * 1e9) / result.packets),
        mcdiagPeakRssMb: ours.peakRssMb,
        tcpdumpSeconds: round(tcpdump.seconds),
        tcpdumpNsPerPacket: Math.round((tcpdump.seconds * 1e9) / result.packets),
        speedupVsTcpdump: round(tcpdump.seconds / ours.seconds),
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
    const spread = Math.max(a.mcdiagSeconds, b.mcdiagSeconds) / Math.min(a.mcdiagSeconds, b.mcdiagSeconds) - 1;
    return {
      name: "analyze vs tcpdump and tshark (same packets as 10 and as thousands of flows)",
      rounds: ROUNDS,
      captureMb: Math.round(sizeBytes / 1e6),
      flowsInManyFlowCopy: flows,
      ...Object.fromEntries(
        Object.entries(runs).flatMap(([k, v]) => Object.entries(v).map(([f, x]) => [`${k}.${f}`, x])),
      ),
      flowCountTimeSpread: round(spread),
      tsharkSeconds: round(tshark.seconds),
      tsharkPeakRssMb: tshark.peakRssMb,
      speedupVsTshark: round(tshark.seconds / a.mcdiagSeconds),
      target: "each ≥ 2× tcpdump -nn -r, the two within 25 % of each other, peak RSS < 300 MB; ≥ 10× tshark",
      pass:
        a.speedupVsTcpdump >= 2 &&
        b.speedupVsTcpdump >= 2 &&
        spread <= 0.25 &&
        a.mcdiagPeakRssMb < 300 &&
        b.mcdiagPeakRssMb < 300 &&
        tshark.seconds / a.mcdiagSeconds >= 10,
    };
  } finally {
    if (!process.env.BENCH_KEEP) for (const f of [few, many]) rmSync(f, { force: true });
  }
}

const round = (x) => Math.round(x * 100) / 100;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
