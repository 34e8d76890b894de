// Capture analysis speed and memory, side by side on the same ≥ 2 M-packet
// capture: mcdiag analyze (full analysis) vs tshark extracting memcached
// commands vs tcpdump merely printing packet headers.
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { makeBigCapture } from "./big-capture.js";
import { hasCommand } from "./lib.js";
import { measure } from "./measure.js";

const BIN = fileURLToPath(new URL("../bin/mcdiag.js", import.meta.url));
const MIN_PACKETS = Number(process.env.BENCH_PACKETS ?? 2_000_000);

export async function analyzeVsTshark() {
  for (const tool of ["tshark", "tcpdump"])
    if (!hasCommand(tool)) throw new Error(`${tool} is needed (Debian: apt-get install tshark tcpdump)`);
  const dir = fileURLToPath(new URL("./out/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = `${dir}big.pcap`;
  const { port, sizeBytes } = await makeBigCapture(file, MIN_PACKETS);
  try {
    const ours = await measure(process.execPath, [BIN, "analyze", file, "--port", String(port), "--json"], {
      stdout: `${dir}big-analysis.json`,
    });
    const result = JSON.parse(execFileSync("cat", [`${dir}big-analysis.json`], { maxBuffer: 1 << 26 }).toString());
    if (result.packets < MIN_PACKETS)
      throw new Error(`the capture holds ${result.packets} packets, fewer than ${MIN_PACKETS}`);
    const tcpdump = await measure("tcpdump", ["-nn", "-r", file]);
    const tshark = await measure("tshark", [
      "-r",
      file,
      "-d",
      `tcp.port==${port},memcache`,
      "-T",
      "fields",
      "-e",
      "frame.number",
      "-e",
      "memcache.command",
    ]);
    return {
      name: "analyze vs tshark and tcpdump (same capture)",
      packets: result.packets,
      captureMb: Math.round(sizeBytes / 1e6),
      requests: result.requests.total,
      stalls: result.stalls.request + result.stalls.response,
      mcdiagSeconds: round(ours.seconds),
      mcdiagPacketsPerSec: Math.round(result.packets / ours.seconds),
      mcdiagPeakRssMb: ours.peakRssMb,
      tsharkSeconds: round(tshark.seconds),
      tsharkPeakRssMb: tshark.peakRssMb,
      tcpdumpSeconds: round(tcpdump.seconds),
      tcpdumpPacketsPerSec: Math.round(result.packets / tcpdump.seconds),
      speedupVsTshark: round(tshark.seconds / ours.seconds),
      speedupVsTcpdump: round(tcpdump.seconds / ours.seconds),
      target: "≥ 10× tshark, faster than tcpdump -r, peak RSS < 300 MB",
      pass: tshark.seconds / ours.seconds >= 10 && ours.seconds < tcpdump.seconds && ours.peakRssMb < 300,
    };
  } finally {
    if (!process.env.BENCH_KEEP) rmSync(file, { force: true });
  }
}

const round = (x) => Math.round(x * 100) / 100;
