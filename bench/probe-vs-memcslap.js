// Closed-loop throughput, side by side in one run on the same memcached:
// mcdiag `probe` (coalesced writes, 16 pooled connections, 16 callers, every
// request recorded in the HDR histograms) against libmemcached's memcslap
// with 16 threads (one connection each), both with Nagle on (their default).
// Rounds alternate so drifting CPU steal hits both alike.
import { fileURLToPath } from "node:url";
import { closedLoopProbe, hasCommand, median, run, startMemcached } from "./lib.js";

const BIN = fileURLToPath(new URL("../bin/mcdiag.js", import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

export async function probeVsMemcslap() {
  for (const tool of ["memcached", "memcslap"]) {
    if (!hasCommand(tool)) throw new Error(`${tool} is needed (Debian: apt-get install memcached libmemcached-tools)`);
  }
  const mc = await startMemcached();
  const server = `127.0.0.1:${mc.port}`;
  const ours = [];
  const theirs = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // memcslap: each of 16 threads does --execute-number gets; it prints the time for all of them.
      const slap = await run("memcslap", [
        `--servers=${server}`,
        "--concurrency=16",
        "--execute-number=25000",
        "--test=get",
      ]);
      const m = /Time to get\s+(\d+) keys by\s+16 threads:\s+([\d.]+) seconds/.exec(slap.stdout + slap.stderr);
      if (!m) throw new Error(`could not read memcslap's output:\n${slap.stdout}`);
      theirs.push(Number(m[1]) / Number(m[2]));

      const j = await closedLoopProbe(BIN, server, 16, SECONDS);
      ours.push(j.throughputPerSec);
      process.stderr.write(
        `round ${round + 1}/${ROUNDS}: memcslap ${Math.round(theirs.at(-1))}/s, mcdiag ${Math.round(ours.at(-1))}/s\n`,
      );
    }
  } finally {
    mc.stop();
  }
  const a = median(ours);
  const b = median(theirs);
  return {
    name: "probe throughput vs memcslap (16 connections, get, loopback)",
    mcdiagPerSec: Math.round(a),
    memcslapPerSec: Math.round(b),
    ratio: Math.round((a / b) * 100) / 100,
    target: ">= 0.70",
    pass: a / b >= 0.7,
    rounds: ROUNDS,
  };
}
