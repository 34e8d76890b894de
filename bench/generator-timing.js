// Constant-rate generator timing, side by side with an earlier build of
// mcdiag in the same run: scheduling lag and how far the users' latency sits
// from the service time, at 1,000/s and 20,000/s with a pool of 20 against
// one memcached on loopback, rounds alternating between the two builds; then
// the same sweep with each build.
//
// The earlier build is BENCH_BASELINE_REF (a git ref of this repository,
// default `main`; see baseline.js).
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildAt } from "./baseline.js";
import { hasCommand, median, startMemcached } from "./lib.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "bin/mcdiag.js");
const REF = process.env.BENCH_BASELINE_REF ?? "main";
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const RATES = [1000, 20000];
const SWEEP = ["--rates", "5000,10000,20000,40000,60000,80000", "--step-duration", "4s", "--pool", "20"];
const SLO = "p99<2ms,success>=99.9%";

/** An unhealthy run exits 1: the report is read whatever the exit code. */
function mcdiagJson(bin, args) {
  return new Promise((resolve, reject) => {
    let stdout = "";
    const c = spawn(process.execPath, [bin, ...args, "--json"], { stdio: ["ignore", "pipe", "ignore"] });
    c.stdout.on("data", (d) => (stdout += d));
    c.on("exit", (code) => {
      try {
        resolve(JSON.parse(stdout));
      } catch {
        reject(new Error(`mcdiag ${args.join(" ")} (${bin}) exited ${code} without a report`));
      }
    });
  });
}

function probe(bin, server, rate) {
  return mcdiagJson(bin, ["probe", server, "--rate", String(rate), "--duration", `${SECONDS}s`, "--pool", "20"]);
}

function sweep(bin, server) {
  return mcdiagJson(bin, ["sweep", server, ...SWEEP, "--slo", SLO]);
}

/**
 * The machine's own floor for a sleeping generator: how late 3,000 sleeps of
 * 0.85 ms in Atomics.wait wake (timer slack 1 ns, as the generator asks),
 * in a process doing nothing else. A generator that sleeps between requests
 * cannot issue them more punctually than this.
 */
function wakeUpFloor() {
  const code = `
    try { require("fs").writeFileSync("/proc/self/timerslack_ns", "1"); } catch {}
    const cell = new Int32Array(new SharedArrayBuffer(4));
    const late = [];
    for (let i = 0; i < 3000; i++) {
      const t = performance.now();
      Atomics.wait(cell, 0, 0, 0.85);
      late.push((performance.now() - t - 0.85) * 1000);
    }
    late.sort((a, b) => a - b);
    const q = (p) => Math.round(late[Math.floor(p * late.length)]);
    console.log(JSON.stringify({ p50Us: q(0.5), p99Us: q(0.99), p999Us: q(0.999) }));`;
  return new Promise((resolve, reject) => {
    let out = "";
    const c = spawn(process.execPath, ["-e", code], { stdio: ["ignore", "pipe", "ignore"] });
    c.stdout.on("data", (d) => (out += d));
    c.on("exit", () => {
      try {
        resolve(JSON.parse(out));
      } catch {
        reject(new Error("the wake-up measurement printed no result"));
      }
    });
  });
}

export async function generatorTiming() {
  if (!hasCommand("memcached")) throw new Error("memcached is needed (Debian: apt-get install memcached)");
  const base = buildAt(REF);
  const mc = await startMemcached();
  const server = `127.0.0.1:${mc.port}`;
  const runs = { new: {}, baseline: {} };
  const sweeps = {};
  const wakeUps = [await wakeUpFloor()];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const rate of RATES) {
        // Alternate which build goes first, so drifting load hits both alike.
        const order = round % 2 === 0 ? ["baseline", "new"] : ["new", "baseline"];
        for (const which of order) {
          const j = await probe(which === "new" ? BIN : base.bin, server, rate);
          (runs[which][rate] ??= []).push(j);
          process.stderr.write(
            `round ${round + 1}/${ROUNDS} ${which} ${rate}/s: lag p50 ${j.schedulerLagUs?.p50} p99 ${j.schedulerLagUs?.p99} µs, ` +
              `users p50 ${j.latencyUs?.p50} µs, service p50 ${j.serviceUs?.p50} µs, waited for a CPU ${j.generatorCpuWaitPercent ?? "?"} %\n`,
          );
        }
      }
    }
    wakeUps.push(await wakeUpFloor());
    for (const which of ["baseline", "new"]) {
      sweeps[which] = await sweep(which === "new" ? BIN : base.bin, server);
      process.stderr.write(`sweep ${which}: meets the SLOs up to ${sweeps[which].maxRateMeetingSlo}/s\n`);
    }
  } finally {
    mc.stop();
    base.cleanup();
  }
  const summary = (which, rate) => {
    const rs = runs[which][rate];
    return {
      lagP50Us: median(rs.map((r) => r.schedulerLagUs.p50)),
      lagP99Us: median(rs.map((r) => r.schedulerLagUs.p99)),
      usersP50Us: median(rs.map((r) => r.latencyUs.p50)),
      usersP99Us: median(rs.map((r) => r.latencyUs.p99)),
      serviceP50Us: median(rs.map((r) => r.serviceUs.p50)),
      achievedRate: median(rs.map((r) => r.achievedRate)),
      cpuPercent: rs[0].generatorCpuPercent === undefined ? null : median(rs.map((r) => r.generatorCpuPercent)),
      /** % of the run the generator's thread waited for a CPU (each round's): time another task held its core. */
      cpuWaitPercent: rs.map((r) => r.generatorCpuWaitPercent ?? null),
    };
  };
  const stepP99 = (which) =>
    Object.fromEntries(sweeps[which].steps.map((s) => [s.requestedRate, { p99Us: s.latencyUs.p99, met: s.sloMet }]));
  const result = {
    name: `constant-rate generator timing vs ${REF} (${base.commit}), pool 20, memcached on loopback`,
    rounds: ROUNDS,
    seconds: SECONDS,
    load: Object.fromEntries(
      RATES.map((rate) => [rate, { new: summary("new", rate), baseline: summary("baseline", rate) }]),
    ),
    sweep: { slo: SLO, new: stepP99("new"), baseline: stepP99("baseline") },
    /** How late this machine wakes a sleeping thread (before the rounds, after them): the floor under the lag. */
    wakeUpLateness: wakeUps,
  };
  const at1k = result.load[1000].new;
  const at20k = result.load[20000].new;
  result.target =
    "lag ≤ 50 µs p50 and ≤ 250 µs p99 at 1,000/s and 20,000/s; users p50 within 100 µs of service p50 at 1,000/s; the sweep meets p99<2ms at 5,000/s and 10,000/s";
  result.pass =
    at1k.lagP50Us <= 50 &&
    at1k.lagP99Us <= 250 &&
    at20k.lagP50Us <= 50 &&
    at20k.lagP99Us <= 250 &&
    at1k.usersP50Us - at1k.serviceP50Us <= 100 &&
    result.sweep.new[5000]?.met === true &&
    result.sweep.new[10000]?.met === true;
  return result;
}
