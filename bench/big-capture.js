// Makes the analyzer benchmark's captures (not committed). One real capture
// of memcached traffic on loopback with 10 long connections: 6 writing split
// commands with TCP_NODELAY (several segments per request, like a busy
// client) and 4 writing split commands with Nagle on (each request stalls on
// the delayed ACK), captured by tcpdump with a large buffer. Then the same
// packets re-labelled into thousands of flows: each long connection is cut at
// request boundaries into short stretches, each with its own client port.
// The two files hold the same packets, so any difference in analysis time
// comes from the number of flows.
import { spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
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
    // Ten closed-loop connections under capture make about 60k packets per second on loopback.
    const seconds = Math.max(4, Math.ceil(minPackets / 50_000));
    const probe = (args) =>
      run(
        process.execPath,
        [BIN, "probe", server, "--write", "split", "--duration", `${seconds}s`, "--json", ...args],
        600_000,
      );
    await Promise.all([
      probe(["--nodelay", "--pool", "6", "--concurrency", "6"]),
      probe(["--no-nodelay", "--pool", "4", "--concurrency", "4", "--key-prefix", "stall:"]),
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

/**
 * Copies `src` (little-endian µs pcap, Ethernet, IPv4/TCP) to `dst`, giving
 * every connection to `port` a new client port for each stretch of packets
 * (about `targetFlows` stretches in all), cut where the client starts a
 * command. Returns the number of flows written.
 */
export function manyFlowsCopy(src, dst, port, targetFlows) {
  let total = 0;
  for (const n of countPerFlow(src, port).values()) total += n;
  // One stretch length for every connection: busy ones are cut into many flows, stalled ones into a few.
  const stretchPackets = Math.max(40, Math.floor(total / targetFlows));
  const state = new Map(); // original client port → { newPort, inStretch }
  let nextPort = 10000;
  const flows = new Set();
  forEachRecord(src, dst, (frame) => {
    const ip = 14;
    if (frame.length < ip + 40 || frame.readUInt16BE(12) !== 0x0800 || frame[ip + 9] !== 6) return;
    const ihl = (frame[ip] & 0x0f) * 4;
    const tcp = ip + ihl;
    const sport = frame.readUInt16BE(tcp);
    const dport = frame.readUInt16BE(tcp + 2);
    const toServer = dport === port;
    const client = toServer ? sport : dport;
    let s = state.get(client);
    if (s === undefined) {
      s = { newPort: nextPort++, inStretch: 0 };
      state.set(client, s);
    }
    const payloadAt = tcp + (frame[tcp + 12] >> 4) * 4;
    const payloadLen = frame.readUInt16BE(ip + 2) - (payloadAt - ip);
    // A new stretch starts at a command ("get ", "set ") once this one is long enough.
    if (
      toServer &&
      payloadLen > 0 &&
      s.inStretch >= stretchPackets &&
      /^(get|set) /.test(frame.toString("latin1", payloadAt, payloadAt + 4))
    ) {
      s.newPort = nextPort++;
      if (nextPort > 65000) nextPort = 10000;
      s.inStretch = 0;
    }
    s.inStretch++;
    frame.writeUInt16BE(s.newPort, toServer ? tcp : tcp + 2);
    flows.add(s.newPort);
  });
  return flows.size;
}

function countPerFlow(src, port) {
  const counts = new Map();
  forEachRecord(src, undefined, (frame) => {
    if (frame.length < 54 || frame.readUInt16BE(12) !== 0x0800 || frame[23] !== 6) return;
    const tcp = 14 + (frame[14] & 0x0f) * 4;
    const sport = frame.readUInt16BE(tcp);
    const dport = frame.readUInt16BE(tcp + 2);
    const client = dport === port ? sport : dport;
    counts.set(client, (counts.get(client) ?? 0) + 1);
  });
  return counts;
}

/** Streams the records of a pcap file through `visit(frame)` (which may edit the frame), writing them to dst if given. */
function forEachRecord(src, dst, visit) {
  const fd = openSync(src, "r");
  const out = dst === undefined ? undefined : openSync(dst, "w");
  const buf = Buffer.alloc(8 << 20);
  let have = readSync(fd, buf, 0, buf.length, null);
  if (buf.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error(`${src}: expected a little-endian microsecond pcap`);
  if (out !== undefined) writeSync(out, buf, 0, 24);
  let at = 24;
  for (;;) {
    if (have - at < 16 || have - at < 16 + buf.readUInt32LE(at + 8)) {
      buf.copy(buf, 0, at, have);
      have -= at;
      at = 0;
      const n = readSync(fd, buf, have, buf.length - have, null);
      if (n === 0) break;
      have += n;
      continue;
    }
    const incl = buf.readUInt32LE(at + 8);
    visit(buf.subarray(at + 16, at + 16 + incl));
    if (out !== undefined) writeSync(out, buf, at, 16 + incl);
    at += 16 + incl;
  }
  closeSync(fd);
  if (out !== undefined) closeSync(out);
}

/**
 * Copies the connections of `src` to `port` into `dsts.length` files, each
 * connection (client port) whole in one of them: separate captures of the
 * same span of time, as captures taken at once on several hosts would be.
 */
export function splitByConnection(src, dsts, port) {
  const outs = dsts.map((d) => openSync(d, "w"));
  const header = Buffer.alloc(24);
  const fd = openSync(src, "r");
  readSync(fd, header, 0, 24, 0);
  closeSync(fd);
  for (const o of outs) writeSync(o, header);
  forEachRecordRaw(src, (record, frame) => {
    if (frame.length < 54 || frame.readUInt16BE(12) !== 0x0800 || frame[23] !== 6) return;
    const tcp = 14 + (frame[14] & 0x0f) * 4;
    const sport = frame.readUInt16BE(tcp);
    const client = frame.readUInt16BE(tcp + 2) === port ? sport : frame.readUInt16BE(tcp + 2);
    writeSync(outs[client % outs.length], record);
  });
  for (const o of outs) closeSync(o);
}

/** Like forEachRecord, read-only, handing over each whole record (header and frame). */
function forEachRecordRaw(src, visit) {
  forEachRecord(src, undefined, (frame) => {
    const record = Buffer.from(frame.buffer, frame.byteOffset - 16, frame.length + 16);
    visit(record, frame);
  });
}

/** Packets the analyzer benchmarks' captures hold at least (BENCH_PACKETS makes a smaller one for a quick try). */
export const BENCH_MIN_PACKETS = Number(process.env.BENCH_PACKETS ?? 2_000_000);
/** Connections the many-flows copy is cut into. */
const BENCH_MANY_FLOWS = 2_500;

/**
 * The analyzer benchmarks' two captures in bench/out/: `few` (10 long
 * connections) and `many` (the same packets as about 2,500 connections), with
 * the server port, size and flow count in `made`. BENCH_KEEP keeps them (and
 * reuses kept ones): they take minutes to make. `dispose()` removes them
 * unless kept.
 */
export async function benchCaptures() {
  const dir = fileURLToPath(new URL("./out/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  const few = `${dir}big.pcap`;
  const many = `${dir}big-many-flows.pcap`;
  const meta = `${dir}big.json`;
  let made;
  if (process.env.BENCH_KEEP && existsSync(meta) && existsSync(few) && existsSync(many)) {
    made = JSON.parse(readFileSync(meta, "utf8"));
  } else {
    const { port, sizeBytes } = await makeBigCapture(few, BENCH_MIN_PACKETS);
    made = { port, sizeBytes, flows: manyFlowsCopy(few, many, port, BENCH_MANY_FLOWS) };
    writeFileSync(meta, JSON.stringify(made));
  }
  const dispose = () => {
    if (!process.env.BENCH_KEEP) for (const f of [few, many, meta]) rmSync(f, { force: true });
  };
  return { dir, few, many, made, dispose };
}
