// Constant-rate accuracy: mcdiag probe --rate 20000 against memcached on
// loopback. The generator must keep its schedule (achieved rate within 1 %
// of requested) and reports its own scheduling lag; rounds are repeated and
// the median taken.
import { fileURLToPath } from "node:url";
import { hasCommand, median, run, startMemcached } from "./lib.js";

const BIN = fileURLToPath(new URL("../bin/mcdiag.js", import.meta.url));
const RATE = Number(process.env.BENCH_RATE ?? 20_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

export async function constantRate() {
  if (!hasCommand("memcached")) throw new Error("memcached is needed (Debian: apt-get install memcached)");
  const mc = await startMemcached();
  const runs = [];
  try {
    for (let i = 0; i < ROUNDS; i++) {
      const out = await run(
        process.execPath,
        [
          BIN,
          "probe",
          `127.0.0.1:${mc.port}`,
          "--rate",
          String(RATE),
          "--duration",
          `${SECONDS}s`,
          "--pool",
          "20",
          "--json",
        ],
        600_000,
      );
      const j = JSON.parse(out.stdout);
      runs.push(j);
      process.stderr.write(
        `round ${i + 1}/${ROUNDS}: achieved ${j.achievedRate}/s, lag p99 ${j.schedulerLagUs.p99} µs, latency p99 ${j.latencyUs.p99} µs, success ${j.successRatio}\n`,
      );
    }
  } finally {
    mc.stop();
  }
  const achieved = median(runs.map((r) => r.achievedRate));
  return {
    name: `constant rate ${RATE}/s against memcached (loopback)`,
    requestedRate: RATE,
    achievedRate: achieved,
    achievedRatio: Math.round((achieved / RATE) * 10000) / 10000,
    schedulerLagP99Us: median(runs.map((r) => r.schedulerLagUs.p99)),
    latencyFromIntendedP99Us: median(runs.map((r) => r.latencyUs.p99)),
    serviceP99Us: median(runs.map((r) => r.serviceUs.p99)),
    eventLoopDelayP99Us: median(runs.map((r) => r.eventLoopDelayP99Us)),
    successRatio: Math.min(...runs.map((r) => r.successRatio)),
    target: "achieved within 1 % of requested",
    pass: Math.abs(achieved - RATE) / RATE <= 0.01,
    rounds: ROUNDS,
  };
}
