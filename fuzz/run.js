// `npm run fuzz [seconds]` (default 60): mutates the committed capture
// fixtures (bit flips, truncation, absurd length fields, spliced records,
// garbage), runs `mcdiag analyze` on each in a child process, and fails on a
// stack trace, an exit code other than 0 or 2, a run over 10 s, or a peak RSS
// over 300 MB. Every failing input is kept in fuzz/crashes/ (named by its
// hash, with a .txt saying why); test/analyze/fuzz-crashes.test.ts replays
// them all. Runs two children at a time (this machine has two cores).
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { watchPeakRss } from "../tools/peak-rss.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "bin/mcdiag.js");
const CRASHES = join(ROOT, "fuzz/crashes");
const seconds = Number(process.argv[2] ?? 60);
const LIMIT_MS = 10_000;
const LIMIT_RSS_MB = 300;
const PARALLEL = 2;

const seeds = ["captures", "bad"].flatMap((d) =>
  readdirSync(join(ROOT, "fixtures", d)).map((f) => ({ name: f, bytes: readFileSync(join(ROOT, "fixtures", d, f)) })),
);

let state = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
console.log(`fuzz: ${seeds.length} seed files, ${seconds} s, seed ${state} (FUZZ_SEED to replay)`);
const rnd = (n) => {
  state = (Math.imul(state, 1103515245) + 12345) >>> 0;
  return state % n;
};
const pick = (xs) => xs[rnd(xs.length)];
const ABSURD = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffff0, 65535, 16, 262145];

/** One mutation of a seed, with a note of what was done. */
function mutate() {
  const seed = pick(seeds);
  let b = Buffer.from(seed.bytes);
  const notes = [seed.name];
  const steps = 1 + rnd(3);
  for (let s = 0; s < steps && b.length > 0; s++) {
    switch (rnd(6)) {
      case 0: {
        const n = 1 + rnd(16);
        for (let i = 0; i < n; i++) b[rnd(b.length)] ^= 1 << rnd(8);
        notes.push(`${n} bit flips`);
        break;
      }
      case 1: {
        const at = rnd(b.length);
        b = b.subarray(0, at);
        notes.push(`cut at ${at}`);
        break;
      }
      case 2: {
        // A 16- or 32-bit field set to an absurd value, either byte order (lengths, counts, timestamps).
        if (b.length < 4) break;
        const at = rnd(b.length - 3) & ~1;
        const v = pick(ABSURD);
        if (rnd(2)) b.writeUInt32LE(v >>> 0, Math.min(at, b.length - 4));
        else b.writeUInt32BE(v >>> 0, Math.min(at, b.length - 4));
        notes.push(`absurd ${v} at ${at}`);
        break;
      }
      case 3: {
        // Splice: a slice of another fixture pasted in the middle.
        const other = pick(seeds).bytes;
        const from = rnd(other.length);
        const piece = other.subarray(from, from + 1 + rnd(2000));
        const at = rnd(b.length);
        b = Buffer.concat([b.subarray(0, at), piece, b.subarray(at)]);
        notes.push(`spliced ${piece.length} bytes at ${at}`);
        break;
      }
      case 4: {
        // A stretch duplicated (records repeated, out of order).
        const from = rnd(b.length);
        const len = 1 + rnd(4000);
        const at = rnd(b.length);
        b = Buffer.concat([b.subarray(0, at), b.subarray(from, from + len), b.subarray(at)]);
        notes.push(`duplicated ${len} bytes from ${from} at ${at}`);
        break;
      }
      default: {
        const junk = Buffer.alloc(1 + rnd(512));
        for (let i = 0; i < junk.length; i++) junk[i] = rnd(256);
        const at = rnd(b.length);
        b = Buffer.concat([b.subarray(0, at), junk, b.subarray(at)]);
        notes.push(`${junk.length} random bytes at ${at}`);
      }
    }
  }
  return { bytes: b, note: notes.join("; ") };
}

/** Runs analyze on one file; resolves with what went wrong, or undefined. */
function check(file) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, "analyze", file, "--json"], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const rss = watchPeakRss(child.pid, 25);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, LIMIT_MS);
    child.on("exit", (code) => {
      const rssMb = rss.stop();
      clearTimeout(timer);
      if (timedOut) return resolve(`ran over ${LIMIT_MS / 1000} s`);
      if (/\n\s+at .+:\d+:\d+/.test(stderr)) return resolve(`stack trace: ${stderr.slice(0, 400)}`);
      if (code !== 0 && code !== 2) return resolve(`exit ${code}: ${stderr.trim().slice(0, 400)}`);
      if (code === 2 && stderr.trim().split("\n").length !== 1)
        return resolve(`exit 2 without one line: ${stderr.slice(0, 400)}`);
      if (rssMb > LIMIT_RSS_MB) return resolve(`peak RSS ${rssMb} MB`);
      resolve(undefined);
    });
  });
}

const work = mkdtempSync(join(tmpdir(), "mcdiag-fuzz-"));
const until = Date.now() + seconds * 1000;
let runs = 0;
const failures = [];
async function worker(id) {
  for (let i = 0; Date.now() < until; i++) {
    const { bytes, note } = mutate();
    const file = join(work, `w${id}-${i}.pcap`);
    writeFileSync(file, bytes);
    const why = await check(file);
    runs++;
    rmSync(file, { force: true });
    if (why === undefined) continue;
    const hash = createHash("sha256").update(bytes).digest("hex").slice(0, 16);
    mkdirSync(CRASHES, { recursive: true });
    writeFileSync(join(CRASHES, `${hash}.bin`), bytes);
    writeFileSync(join(CRASHES, `${hash}.txt`), `${why}\nmade from: ${note}\n`);
    failures.push(`${hash}: ${why} (${note})`);
    console.log(`FAIL ${hash}: ${why}\n  made from: ${note}`);
  }
}
await Promise.all(Array.from({ length: PARALLEL }, (_, i) => worker(i)));
rmSync(work, { recursive: true, force: true });
console.log(`fuzz: ${runs} inputs, ${failures.length} failures${failures.length ? " (kept in fuzz/crashes/)" : ""}`);
process.exitCode = failures.length === 0 ? 0 : 1;
