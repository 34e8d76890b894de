// Closed-loop throughput and latency side by side with memtier_benchmark, the
// C load generator: one thread, 16 connections, coalesced gets of the same
// 99 seeded keys on one memcached on loopback, 5 alternating rounds, medians.
// mcdiag's p99 is its users' latency (asked for a connection → answer);
// memtier's is its own request → answer.
//
// memtier_benchmark is not packaged for Debian: build it from its source
// (RedisLabs/memtier_benchmark: autoreconf -ivf && ./configure && make, with
// autoconf automake libtool pkg-config libevent-dev libssl-dev zlib1g-dev)
// and point MEMTIER_BENCHMARK at the binary, or put it on PATH.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { closedLoopProbe, hasCommand, median, run, startMemcached } from "./lib.js";

const BIN = fileURLToPath(new URL("../bin/mcdiag.js", import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = 16;

function memtierPath() {
  const env = process.env.MEMTIER_BENCHMARK;
  if (env) return env;
  if (hasCommand("memtier_benchmark")) return "memtier_benchmark";
  throw new Error(
    "memtier_benchmark is missing: build it from RedisLabs/memtier_benchmark (autoreconf -ivf && ./configure && make) " +
      "and set MEMTIER_BENCHMARK=/path/to/memtier_benchmark, or put it on PATH",
  );
}

function memtier(bin, port, dir) {
  const out = join(dir, "memtier.json");
  return new Promise((resolve, reject) => {
    const args = [
      "-s",
      "127.0.0.1",
      "-p",
      String(port),
      "--protocol=memcache_text",
      "-t",
      "1",
      "-c",
      String(CONNECTIONS),
      "--ratio=0:1",
      `--test-time=${SECONDS}`,
      "--key-prefix=mcdiag:",
      "--key-minimum=1",
      "--key-maximum=99",
      "--key-pattern=R:R",
      "--hide-histogram",
      `--json-out-file=${out}`,
    ];
    const c = spawn(bin, args, { stdio: "ignore" });
    c.on("exit", (code) => {
      try {
        const gets = JSON.parse(readFileSync(out, "utf8"))["ALL STATS"].Gets;
        resolve({
          perSec: gets["Ops/sec"],
          p50Us: gets["Percentile Latencies"]["p50.00"] * 1000,
          p99Us: gets["Percentile Latencies"]["p99.00"] * 1000,
        });
      } catch (err) {
        reject(new Error(`memtier_benchmark exited ${code} without a report: ${err}`));
      }
    });
  });
}

async function mcdiag(server) {
  const j = await closedLoopProbe(BIN, server, CONNECTIONS, SECONDS);
  return { perSec: j.throughputPerSec, p50Us: j.totalUs.p50, p99Us: j.totalUs.p99 };
}

export async function probeVsMemtier() {
  const tool = memtierPath();
  if (!hasCommand("memcached")) throw new Error("memcached is needed (Debian: apt-get install memcached)");
  const mc = await startMemcached();
  const server = `127.0.0.1:${mc.port}`;
  const dir = mkdtempSync(join(tmpdir(), "mcdiag-memtier-"));
  const ours = [];
  const theirs = [];
  try {
    // Seeds mcdiag:0 … mcdiag:99, the keys both read.
    await run(process.execPath, [BIN, "probe", server, "--requests", "100", "--json"]);
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? ["memtier", "mcdiag"] : ["mcdiag", "memtier"];
      for (const which of order) {
        if (which === "memtier") theirs.push(await memtier(tool, mc.port, dir));
        else ours.push(await mcdiag(server));
      }
      const a = ours.at(-1);
      const b = theirs.at(-1);
      process.stderr.write(
        `round ${round + 1}/${ROUNDS}: mcdiag ${Math.round(a.perSec)}/s p99 ${a.p99Us} µs; memtier ${Math.round(b.perSec)}/s p99 ${Math.round(b.p99Us)} µs\n`,
      );
    }
  } finally {
    mc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const m = (xs, k) => median(xs.map((x) => x[k]));
  const throughputRatio = m(ours, "perSec") / m(theirs, "perSec");
  const p99Ratio = m(ours, "p99Us") / m(theirs, "p99Us");
  return {
    name: `closed loop vs memtier_benchmark (1 thread, ${CONNECTIONS} connections, get, loopback)`,
    mcdiagPerSec: Math.round(m(ours, "perSec")),
    memtierPerSec: Math.round(m(theirs, "perSec")),
    throughputRatio: Math.round(throughputRatio * 100) / 100,
    mcdiagP50Us: m(ours, "p50Us"),
    memtierP50Us: Math.round(m(theirs, "p50Us")),
    mcdiagP99Us: m(ours, "p99Us"),
    memtierP99Us: Math.round(m(theirs, "p99Us")),
    p99Ratio: Math.round(p99Ratio * 100) / 100,
    target: "throughput ≥ 1.0× memtier's, p99 within 1.2× memtier's",
    pass: throughputRatio >= 1 && p99Ratio <= 1.2,
    rounds: ROUNDS,
  };
}
