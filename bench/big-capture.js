// Makes a large real capture of memcached traffic for the analyzer benchmark
// (not committed): memcached on loopback, mcdiag probes with split writes and
// TCP_NODELAY (several segments per request, like a busy client) plus a few
// stalling split+Nagle connections, captured by tcpdump with a large buffer.
import { spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { hasCommand, run, startMemcached } from "./lib.js";

const BIN = fileURLToPath(new URL("../bin/mcdiag.js", import.meta.url));

export async function makeBigCapture(file, minPackets) {
  for (const tool of ["memcached", "tcpdump"])
    if (!hasCommand(tool)) throw new Error(`${tool} is needed to make the benchmark capture`);
  const mc = await startMemcached();
  try {
    const cap = spawn("tcpdump", ["-q", "-i", "lo", "-B", "262144", "-s", "0", "-w", file, `tcp port ${mc.port}`], {
      stdio: "ignore",
    });
    await new Promise((r) => setTimeout(r, 1500));
    const server = `127.0.0.1:${mc.port}`;
    // ~5 packets per request on loopback at ~30k req/s under capture: ~150k packets per second.
    const seconds = Math.max(4, Math.ceil(minPackets / 150_000));
    await Promise.all([
      run(
        process.execPath,
        [
          BIN,
          "probe",
          server,
          "--write",
          "split",
          "--nodelay",
          "--pool",
          "16",
          "--concurrency",
          "16",
          "--duration",
          `${seconds}s`,
          "--json",
        ],
        600_000,
      ),
      run(
        process.execPath,
        [
          BIN,
          "probe",
          server,
          "--write",
          "split",
          "--no-nodelay",
          "--pool",
          "4",
          "--concurrency",
          "4",
          "--duration",
          `${seconds}s`,
          "--json",
          "--key-prefix",
          "stall:",
        ],
        600_000,
      ),
    ]);
    await new Promise((r) => setTimeout(r, 2500)); // libpcap hands packets over a ring block at a time
    cap.kill("SIGINT");
    await new Promise((r) => cap.once("exit", r));
  } finally {
    mc.stop();
  }
  if (!existsSync(file)) throw new Error("tcpdump wrote no capture");
  return { port: mc.port, sizeBytes: statSync(file).size };
}
