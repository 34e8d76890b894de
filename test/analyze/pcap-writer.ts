import { createWriteStream } from "node:fs";

/**
 * Builds classic pcap files of raw IPv4 TCP/UDP packets for tests that need
 * traffic no real capture here can produce (10,000 pipelined requests,
 * hundreds of thousands of flows, damaged streams). Streams to disk.
 */
export interface Segment {
  tUs: number;
  src: number;
  sport: number;
  dst: number;
  dport: number;
  seq?: number;
  ack?: number;
  /** TCP flags; default ACK|PSH. */
  flags?: number;
  payload?: Buffer | string;
  /** 17 for UDP. */
  proto?: 6 | 17;
  ipId?: number;
  window?: number;
}

export const SYN = 0x02;
export const ACK = 0x10;
export const PSH = 0x08;
export const FIN = 0x01;

export const ip4 = (a: number, b: number, c: number, d: number) => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

/** One client (10.0.0.2:40000) talking to one memcached (10.0.0.1:11211): segments each way. */
export const CLIENT = ip4(10, 0, 0, 2);
export const SERVER = ip4(10, 0, 0, 1);
export const c2s = (tUs: number, seq: number, payload: string | Buffer, flags = ACK | PSH): Segment => ({
  tUs,
  src: CLIENT,
  sport: 40000,
  dst: SERVER,
  dport: 11211,
  seq,
  ack: 1,
  flags,
  payload,
});
export const s2c = (tUs: number, seq: number, ack: number, payload: string | Buffer, flags = ACK | PSH): Segment => ({
  tUs,
  src: SERVER,
  sport: 11211,
  dst: CLIENT,
  dport: 40000,
  seq,
  ack,
  flags,
  payload,
});

export function pcapHeader(): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(262144, 16);
  h.writeUInt32LE(101, 20); // raw IP
  return h;
}

export function record(s: Segment): Buffer {
  const payload = typeof s.payload === "string" ? Buffer.from(s.payload, "latin1") : (s.payload ?? Buffer.alloc(0));
  const proto = s.proto ?? 6;
  const l4 = proto === 6 ? 20 : 8;
  const len = 20 + l4 + payload.length;
  const b = Buffer.alloc(16 + len);
  b.writeUInt32LE(Math.floor(s.tUs / 1e6), 0);
  b.writeUInt32LE(Math.round(s.tUs % 1e6), 4);
  b.writeUInt32LE(len, 8);
  b.writeUInt32LE(len, 12);
  const ip = 16;
  b[ip] = 0x45;
  b.writeUInt16BE(len > 0xffff ? 0 : len, ip + 2);
  b.writeUInt16BE((s.ipId ?? 0) & 0xffff, ip + 4);
  b.writeUInt16BE(0x4000, ip + 6);
  b[ip + 8] = 64;
  b[ip + 9] = proto;
  b.writeUInt32BE(s.src >>> 0, ip + 12);
  b.writeUInt32BE(s.dst >>> 0, ip + 16);
  const t = ip + 20;
  b.writeUInt16BE(s.sport, t);
  b.writeUInt16BE(s.dport, t + 2);
  if (proto === 6) {
    b.writeUInt32BE((s.seq ?? 0) >>> 0, t + 4);
    b.writeUInt32BE((s.ack ?? 0) >>> 0, t + 8);
    b[t + 12] = 5 << 4;
    b[t + 13] = s.flags ?? ACK | PSH;
    b.writeUInt16BE(s.window ?? 65535, t + 14);
  } else {
    b.writeUInt16BE(8 + payload.length, t + 4);
  }
  payload.copy(b, t + l4);
  return b;
}

export function pcapOf(segments: Segment[]): Buffer {
  return Buffer.concat([pcapHeader(), ...segments.map(record)]);
}

/** Streams `count` packets from `make(i)` (an array of segments per step) into a pcap file. */
export async function writePcapFile(file: string, count: number, make: (i: number) => Segment[]): Promise<void> {
  const out = createWriteStream(file, { highWaterMark: 1 << 20 });
  const write = async (b: Buffer) => {
    if (!out.write(b)) await new Promise<void>((r) => out.once("drain", () => r()));
  };
  await write(pcapHeader());
  let batch: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    for (const s of make(i)) batch.push(record(s));
    if (batch.length >= 4096) {
      await write(Buffer.concat(batch));
      batch = [];
    }
  }
  await write(Buffer.concat(batch));
  await new Promise<void>((r) => out.end(() => r()));
}
