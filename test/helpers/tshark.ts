import { execFileSync } from "node:child_process";

/**
 * Counts from tshark, independent of mcdiag's decoder: requests and
 * multi-segment requests from Wireshark's memcache dissector, and stalls
 * recomputed from raw TCP fields with a deliberately different method
 * (message ends found by a trailing CRLF, not by framing).
 */
export interface TsharkCounts {
  requests: number;
  multiSegmentRequests: number;
  requestStalls: number;
  responseStalls: number;
}

export function tsharkCounts(file: string, ports: number[], thresholdMs = 30, ackWindowMs = 1): TsharkCounts {
  const decodeAs = ports.flatMap((p) => ["-d", `tcp.port==${p},memcache`]);
  const pdus = execFileSync(
    "tshark",
    [
      "-r",
      file,
      ...decodeAs,
      "-Y",
      "memcache.command",
      "-T",
      "fields",
      "-e",
      "memcache.command",
      "-e",
      "tcp.segment.count",
      "-E",
      "separator=;",
    ],
    { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], maxBuffer: 1 << 28 },
  );
  let requests = 0;
  let multi = 0;
  for (const line of pdus.split("\n")) {
    if (line.trim() === "") continue;
    const [cmds, segs] = line.split(";");
    requests += cmds!.split(",").length;
    for (const s of (segs ?? "").split(",")) if (Number(s) > 1) multi++;
  }

  const rows = execFileSync(
    "tshark",
    [
      "-r",
      file,
      "-T",
      "fields",
      "-e",
      "frame.time_relative",
      "-e",
      "tcp.stream",
      "-e",
      "tcp.srcport",
      "-e",
      "tcp.dstport",
      "-e",
      "tcp.len",
      "-e",
      "tcp.seq_raw",
      "-e",
      "tcp.ack_raw",
      "-e",
      "tcp.flags",
      "-e",
      "tcp.payload",
      "-E",
      "separator=;",
      "tcp",
    ],
    { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], maxBuffer: 1 << 28 },
  );
  interface Side {
    lastT: number;
    lastEnd: number;
    open: boolean; // the last data segment did not end with CRLF: a message is in progress
    ackT: number;
    ackNo: number;
  }
  const streams = new Map<string, Map<number, Side>>();
  let requestStalls = 0;
  let responseStalls = 0;
  const portSet = new Set(ports);
  for (const line of rows.split("\n")) {
    if (line.trim() === "") continue;
    const [t, stream, sport, dport, len, seq, ack, flags, payload] = line.split(";");
    const sp = Number(sport);
    const dp = Number(dport);
    if (!portSet.has(sp) && !portSet.has(dp)) continue;
    let sides = streams.get(stream!);
    if (!sides) streams.set(stream!, (sides = new Map()));
    const side = (port: number) => {
      let s = sides.get(port);
      if (!s) sides.set(port, (s = { lastT: 0, lastEnd: 0, open: false, ackT: -1, ackNo: 0 }));
      return s;
    };
    const me = side(sp);
    const peer = side(dp);
    const time = Number(t);
    const n = Number(len);
    const f = parseInt(flags!, 16);
    if (n === 0) {
      if ((f & 0x17) === 0x10) {
        me.ackT = time;
        me.ackNo = Number(ack);
      }
      continue;
    }
    const s = Number(seq);
    if (me.open && time - me.lastT >= thresholdMs / 1000) {
      if (
        peer.ackT >= me.lastT &&
        time - peer.ackT <= ackWindowMs / 1000 &&
        (peer.ackNo - me.lastEnd) >>> 0 < 0x80000000
      ) {
        if (portSet.has(dp)) requestStalls++;
        else responseStalls++;
      }
    }
    me.lastT = time;
    me.lastEnd = (s + n) >>> 0;
    me.open = !payload!.endsWith("0d0a");
  }
  return { requests, multiSegmentRequests: multi, requestStalls, responseStalls };
}
