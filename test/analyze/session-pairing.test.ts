import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { ExchangeRecord } from "../../src/analyze/aggregate.js";
import { ANALYZE_DEFAULTS, analyzeCapture } from "../../src/analyze/analyzer.js";
import { MAX_PENDING } from "../../src/analyze/session.js";
import { ACK, SYN, c2s, pcapOf, s2c, type Segment } from "./pcap-writer.js";

const dir = mkdtempSync(join(tmpdir(), "mcdiag-pairing-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Seen {
  verb: string;
  key: string | undefined;
  reqFrame: number;
  respFrame: number;
  /** From the request's first byte to the reply's last (0: no reply). */
  wireUs: number;
  connectNs: number;
  connect: number[];
}

/** Verb, request frame and reply frame (0: none) of each exchange, in request order. */
const byRequest = (seen: Seen[]) =>
  seen.map((x) => [x.verb, x.reqFrame, x.respFrame] as const).sort((a, b) => a[1] - b[1]);

/** Analyses the segments and returns the result with every exchange, in the order reported. */
async function analyse(name: string, segs: Segment[]) {
  const file = join(dir, `${name}.pcap`);
  writeFileSync(file, pcapOf(segs));
  const seen: Seen[] = [];
  const onExchange = (_f: unknown, x: ExchangeRecord) =>
    seen.push({
      verb: x.verb,
      key: x.key,
      reqFrame: x.reqFirstFrame,
      respFrame: x.respFirstFrame,
      wireUs: x.respFirstFrame > 0 ? (x.respLastTNs - x.reqFirstTNs) / 1000 : 0,
      connectNs: x.connectNs,
      connect: [x.connectFrame, x.connectRetryFrame, x.connectDoneFrame],
    });
  const r = await analyzeCapture({ ...ANALYZE_DEFAULTS, input: file, ports: [11211], onExchange });
  return { r, seen };
}

/** A handshake (frames 1-3): a capture that starts mid-stream in binary cannot know where a frame starts. */
const open = (): Segment[] => [c2s(0, 0, "", SYN), s2c(1, 0, 1, "", SYN | ACK), c2s(2, 1, "", ACK)];

/** A binary-protocol header (request 0x80, response 0x81) with key and body. */
function bin(magic: number, op: number, opaque: number, key = "", value = "", status = 0): Buffer {
  const extLen = magic === 0x81 && value !== "" ? 4 : 0;
  const b = Buffer.alloc(24 + extLen + key.length + value.length);
  b[0] = magic;
  b[1] = op;
  b.writeUInt16BE(key.length, 2);
  b[4] = extLen;
  b.writeUInt16BE(status, 6);
  b.writeUInt32BE(extLen + key.length + value.length, 8);
  b.writeUInt32BE(opaque, 12);
  b.write(key, 24 + extLen, "latin1");
  b.write(value, 24 + extLen + key.length, "latin1");
  return b;
}

describe("session pairing", () => {
  it("gives quiet meta commands up at mn: a silent miss is not an unanswered request", async () => {
    const { r, seen } = await analyse("meta-quiet", [
      c2s(0, 1, "mg a v q\r\n"), // frame 1
      c2s(10, 11, "mg b v q\r\n"), // frame 2
      c2s(20, 21, "mn\r\n"), // frame 3
      s2c(100, 1, 25, "VA 1\r\nx\r\nMN\r\n"), // frame 4: a's hit, then b's miss stays silent
    ]);
    expect(seen.map((x) => [x.verb, x.reqFrame, x.respFrame])).toEqual([
      ["mg", 2, 0], // b: given up at mn
      ["mg", 1, 4],
      ["mn", 3, 4],
    ]);
    expect(r.requests).toMatchObject({ total: 3, unanswered: 0 });
    expect(r.responses).toMatchObject({ total: 2, unpaired: 0 });
  });

  it("stops giving quiet commands up at the mn they precede, so a second mn pairs with the next MN", async () => {
    const { r, seen } = await analyse("meta-two-mn", [
      c2s(0, 1, "mg a v q\r\n"), // 1
      c2s(10, 11, "mn\r\n"), // 2
      c2s(20, 15, "mg b v q\r\n"), // 3
      c2s(30, 25, "mn\r\n"), // 4
      s2c(100, 1, 29, "MN\r\n"), // 5
      s2c(200, 5, 29, "MN\r\n"), // 6
    ]);
    expect(byRequest(seen)).toEqual([
      ["mg", 1, 0],
      ["mn", 2, 5],
      ["mg", 3, 0],
      ["mn", 4, 6],
    ]);
    expect(r.requests).toMatchObject({ total: 4, unanswered: 0 });
  });

  it("pairs an MN with the next request when no quiet command precedes it, skipping nothing", async () => {
    const { r, seen } = await analyse("meta-plain", [
      c2s(0, 1, "mg a v\r\n"), // 1
      c2s(10, 9, "mn\r\n"), // 2
      s2c(100, 1, 13, "EN\r\n"), // 3
      s2c(200, 5, 13, "MN\r\n"), // 4
    ]);
    expect(seen.map((x) => [x.verb, x.reqFrame, x.respFrame])).toEqual([
      ["mg", 1, 3],
      ["mn", 2, 4],
    ]);
    expect(r.requests).toMatchObject({ total: 2, unanswered: 0 });
  });

  it("pairs binary replies by opaque: quiet requests skipped before a reply succeeded, others went unanswered", async () => {
    const reqs = [
      bin(0x80, 0x09, 1, "k1"), // getq: a silent miss
      bin(0x80, 0x00, 2, "k2"), // get: never answered
      bin(0x80, 0x00, 5, "k4"), // get: never answered
      bin(0x80, 0x09, 3, "k3"), // getq: a hit
      bin(0x80, 0x0a, 4), // noop
    ];
    const resps = [
      bin(0x81, 0x00, 99), // an opaque no request used, while all five wait
      bin(0x81, 0x09, 3, "", "v"),
      bin(0x81, 0x0a, 4),
    ];
    const segs: Segment[] = open();
    let seq = 1;
    for (const [i, b] of reqs.entries()) {
      segs.push(c2s(10 + i * 10, seq, b)); // frames 4..8
      seq += b.length;
    }
    let sseq = 1;
    for (const [i, b] of resps.entries()) {
      segs.push(s2c(100 + i * 10, sseq, seq, b)); // frames 9..11
      sseq += b.length;
    }
    const { r, seen } = await analyse("binary-opaque", segs);
    expect(byRequest(seen)).toEqual([
      ["bin:GetQ", 4, 0],
      ["bin:Get", 5, 0],
      ["bin:Get", 6, 0],
      ["bin:GetQ", 7, 10],
      ["bin:No-op", 8, 11],
    ]);
    expect(r.requests).toMatchObject({ total: 5, unanswered: 2 });
    expect(r.responses).toMatchObject({ total: 2, unpaired: 1, errors: 0 }); // total counts paired replies
  });

  it("counts a binary reply with a non-zero status as an error, and pairs a stat reply at its empty-key end", async () => {
    const reqs = [bin(0x80, 0x00, 7, "gone"), bin(0x80, 0x10, 8)];
    const resps = [
      bin(0x81, 0x00, 7, "", "", 1), // key not found
      bin(0x81, 0x10, 8, "pid", "1"),
      bin(0x81, 0x10, 8, "uptime", "2"),
      bin(0x81, 0x10, 8), // the end of the stats
    ];
    const segs: Segment[] = [...open(), c2s(10, 1, reqs[0]!), c2s(20, 1 + reqs[0]!.length, reqs[1]!)];
    const reqEnd = 1 + reqs[0]!.length + reqs[1]!.length;
    let sseq = 1;
    for (const [i, b] of resps.entries()) {
      segs.push(s2c(100 + i * 10, sseq, reqEnd, b)); // frames 6..9
      sseq += b.length;
    }
    const { r, seen } = await analyse("binary-status", segs);
    expect(byRequest(seen)).toEqual([
      ["bin:Get", 4, 6],
      ["bin:Stat", 5, 9],
    ]);
    expect(r.responses).toMatchObject({ total: 2, unpaired: 0, errors: 1 });
  });

  const handshake = (synResent: boolean, synAckResent: boolean): Segment[] => {
    // Frame 1 is another connection's packet: times count from it, so the first SYN is not at time 0.
    const other: Segment = { ...c2s(0, 0, "", ACK), sport: 40001 };
    const segs: Segment[] = [other, ...[c2s(1000, 0, "", SYN), c2s(500_000, 0, "", SYN)].slice(synResent ? 0 : 1)];
    segs.push(s2c(1_000_100, 0, 1, "", SYN | ACK));
    if (synAckResent) segs.push(s2c(1_200_100, 0, 1, "", SYN | ACK));
    segs.push(
      c2s(1_200_200, 1, "", ACK),
      c2s(1_200_300, 1, "get a\r\n"),
      s2c(1_200_400, 1, 8, "END\r\n"),
      c2s(1_200_500, 8, "get b\r\n"),
      s2c(1_200_600, 6, 15, "END\r\n"),
    );
    return segs;
  };

  it("charges the connect time to the first exchange after a resent SYN, with its frames", async () => {
    const { seen } = await analyse("syn-resent", handshake(true, false));
    // SYN 2, SYN again 3, SYN/ACK 4, ACK 5: the client waited from its first SYN until its ACK.
    expect(seen.map((x) => [x.verb, x.connectNs, ...x.connect])).toEqual([
      ["get", 1_199_200_000, 2, 4, 5],
      ["get", 0, 0, 0, 0],
    ]);
  });

  it("charges no connect time when the capture missed the client's SYN, and names no frames", async () => {
    const { seen } = await analyse(
      "syn-missed",
      handshake(false, true).filter((x) => x.flags !== SYN),
    );
    expect(seen.map((x) => [x.connectNs, ...x.connect])).toEqual([
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ]);
  });

  it("charges the connect time after a resent SYN/ACK too, naming it as the retry", async () => {
    const { seen } = await analyse("synack-resent", handshake(false, true));
    // SYN 2 (at 0.5 s), SYN/ACK 3, SYN/ACK again 4, ACK 5.
    expect(seen.map((x) => [x.verb, x.connectNs, ...x.connect])).toEqual([
      ["get", 700_200_000, 2, 4, 5],
      ["get", 0, 0, 0, 0],
    ]);
  });

  it("charges nothing when the handshake went through at once", async () => {
    const { seen } = await analyse("syn-once", handshake(false, false));
    expect(seen.map((x) => x.connectNs)).toEqual([0, 0]);
  });

  it("an MN with nothing left to pair is an unpaired reply, after giving the quiet commands up", async () => {
    const { r, seen } = await analyse("meta-extra-mn", [
      c2s(0, 1, "mg a v q\r\n"), // 1
      s2c(100, 1, 11, "MN\r\nMN\r\n"), // 2
    ]);
    expect(byRequest(seen)).toEqual([["mg", 1, 0]]);
    expect(r.requests).toMatchObject({ total: 1, unanswered: 0 });
    expect(r.responses).toMatchObject({ total: 0, unpaired: 2 });
  });

  it("counts CLIENT_ERROR, SERVER_ERROR and ERROR replies as errors, and pairs each with its request", async () => {
    const { r, seen } = await analyse("text-errors", [
      c2s(0, 1, "get a\r\n"), // 1
      s2c(100, 1, 8, "CLIENT_ERROR bad data chunk\r\n"), // 2
      c2s(200, 8, "get b\r\n"), // 3
      s2c(300, 30, 15, "SERVER_ERROR out of memory\r\n"), // 4
      c2s(400, 15, "bogus\r\n"), // 5
      s2c(500, 58, 22, "ERROR\r\n"), // 6
      c2s(600, 22, "get c\r\n"), // 7
      s2c(700, 65, 29, "END\r\n"), // 8
    ]);
    expect(byRequest(seen)).toEqual([
      ["get", 1, 2],
      ["get", 3, 4],
      ["other", 5, 6],
      ["get", 7, 8],
    ]);
    expect(r.responses).toMatchObject({ total: 4, unpaired: 0, errors: 3 });
  });

  const JUNK = "\x01\x02 not a reply\r\n"; // 16 bytes no memcached server sends

  it("gives up what waits when the server sends bytes that are not replies, and counts them as unparsed", async () => {
    const { r } = await analyse("text-junk", [
      ...open(),
      c2s(10, 1, "mg a v q\r\nget b\r\nget c\r\n"), // 4
      s2c(100, 1, 25, JUNK), // 5
      s2c(200, 17, 25, "END\r\n"), // 6: the reply it resynchronises on answers nothing that waits any more
    ]);
    // Quiet commands are not unanswered; the gets are.
    expect(r.requests).toMatchObject({ total: 3, unanswered: 2 });
    expect(r.responses).toMatchObject({ total: 0, unpaired: 1 });
    expect(r.unparsedBytes).toEqual({ client: 0, server: 16 });
  });

  it("counts as unparsed the junk alone, not the reply before it in the same segment, and what is skipped after it", async () => {
    const { r, seen } = await analyse("text-junk-after-reply", [
      ...open(),
      c2s(10, 1, "get a\r\n"), // 4
      c2s(20, 8, "get b\r\n"), // 5
      s2c(100, 1, 15, "END\r\n" + JUNK), // 6
      s2c(200, 22, 15, "more junk\r\n"), // 7: 11 bytes skipped while looking for a reply line
      s2c(300, 33, 15, "END\r\n"), // 8
    ]);
    expect(byRequest(seen)).toEqual([
      ["get", 4, 6],
      ["get", 5, 0],
    ]);
    expect(r.responses).toMatchObject({ total: 1, unpaired: 1 });
    expect(r.unparsedBytes).toEqual({ client: 0, server: 16 + 11 });
  });

  it("counts junk split over two segments whole", async () => {
    const { r } = await analyse("text-junk-split", [
      ...open(),
      c2s(10, 1, "get b\r\n"), // 4
      s2c(100, 1, 8, JUNK.slice(0, 6)), // 5: no line end yet, held for the next segment
      s2c(200, 7, 8, JUNK.slice(6)), // 6
    ]);
    expect(r.requests).toMatchObject({ total: 1, unanswered: 1 });
    expect(r.unparsedBytes).toEqual({ client: 0, server: 16 });
  });

  it("in a capture that starts mid-connection, skips server bytes before the first reply line uncounted", async () => {
    // No handshake: those bytes may be the end of a reply that began before the capture, so they are not
    // "unparsed"; the first reply line then answers the first request seen.
    const { r, seen } = await analyse("text-midstream-tail", [
      c2s(0, 1, "get b\r\nget c\r\n"), // 1
      s2c(100, 1, 15, JUNK), // 2
      s2c(200, 17, 15, "END\r\n"), // 3
    ]);
    expect(byRequest(seen)).toEqual([
      ["get", 1, 3],
      ["get", 1, 0],
    ]);
    expect(r.requests).toMatchObject({ total: 2, unanswered: 1 });
    expect(r.unparsedBytes).toEqual({ client: 0, server: 0 });
  });

  it("gives up what waits when a binary server sends bytes that are not a reply: a later reply pairs with nothing", async () => {
    const junk = Buffer.from("\x00\x01 not a binary reply"); // 22 bytes, no response magic
    const get1 = bin(0x80, 0x00, 1, "a");
    const get2 = bin(0x80, 0x00, 2, "b");
    const end = 1 + get1.length + get2.length;
    const { r } = await analyse("binary-junk", [
      ...open(),
      c2s(10, 1, get1), // 4
      c2s(20, 1 + get1.length, get2), // 5
      s2c(100, 1, end, junk), // 6
      s2c(200, 1 + junk.length, end, bin(0x81, 0x00, 2)), // 7: get2's opaque, but nothing waits any more
      s2c(300, 1 + junk.length + 24, end, bin(0x81, 0x00, 2)), // 8: again, with nothing pending at all
    ]);
    expect(r.requests).toMatchObject({ total: 2, unanswered: 2 });
    expect(r.responses).toMatchObject({ total: 0, unpaired: 2 });
    expect(r.unparsedBytes).toEqual({ client: 0, server: junk.length });
  });

  it("pairs a binary reply that arrives in two segments once it is whole, timed to its last byte", async () => {
    const get = bin(0x80, 0x00, 7, "k");
    const reply = bin(0x81, 0x00, 7, "", "x".repeat(100));
    const { r, seen } = await analyse("binary-split-reply", [
      ...open(),
      c2s(10, 1, get), // 4
      s2c(100, 1, 1 + get.length, reply.subarray(0, 40)), // 5
      s2c(300, 41, 1 + get.length, reply.subarray(40)), // 6
    ]);
    expect(seen.map((x) => [x.verb, x.reqFrame, x.respFrame, x.wireUs])).toEqual([["bin:Get", 4, 5, 290]]);
    expect(r.responses).toMatchObject({ total: 1, unpaired: 0 });
  });
});

describe("session pairing at the limit of requests awaiting an answer", () => {
  const BATCH = 1000;

  /** `count` messages made by `make(i)`, `BATCH` to a segment, from sequence number `seq`; `seg(b, seq, bytes)` builds segment b. */
  function batched(
    count: number,
    make: (i: number) => Buffer,
    seg: (b: number, seq: number, bytes: Buffer) => Segment,
    seq = 1,
  ) {
    const segs: Segment[] = [];
    for (let b = 0; b * BATCH < count; b++) {
      const bytes = Buffer.concat(
        Array.from({ length: Math.min(BATCH, count - b * BATCH) }, (_, k) => make(b * BATCH + k)),
      );
      segs.push(seg(b, seq, bytes));
      seq += bytes.length;
    }
    return { segs, end: seq };
  }

  const GET = Buffer.from("get k\r\n");
  const END = Buffer.from("END\r\n");

  it("gives the oldest text requests up beyond the limit, skips their replies, and pairs every later reply with its own request", async () => {
    const n = MAX_PENDING + 2;
    // Requests BATCH to a segment, 10 µs apart; each batch's replies 1 s after it, so every right pair takes 1 s.
    const reqs = batched(
      n,
      () => GET,
      (b, seq, bytes) => c2s(10 + b * 10, seq, bytes),
    ); // frames 4-14
    const resps = batched(
      n,
      () => END,
      (b, seq, bytes) => s2c(1_000_010 + b * 10, seq, reqs.end, bytes),
    );
    // The second skipped reply is cut in two: the third reply begins in the segment that ends it (frame 16).
    const first = resps.segs[0]!;
    const cut = END.length + 2;
    const head = { ...first, payload: (first.payload as Buffer).subarray(0, cut) }; // frame 15
    const tail = { ...first, seq: 1 + cut, payload: (first.payload as Buffer).subarray(cut) }; // frame 16
    const { r, seen } = await analyse("limit-text", [...open(), ...reqs.segs, head, tail, ...resps.segs.slice(1)]);
    expect(r.requests).toMatchObject({ total: n, unanswered: 0 });
    expect(r.responses).toMatchObject({ total: MAX_PENDING, untimed: 2, unpaired: 0 });
    expect(r.warnings.join("\n")).toMatch(/2 requests on 1 connections were beyond the limit of 10,000 awaiting/);
    const answered = seen.filter((x) => x.respFrame > 0);
    expect(new Set(answered.map((x) => x.wireUs))).toEqual(new Set([1_000_000]));
    expect(Math.min(...answered.map((x) => x.respFrame))).toBe(16);
  });

  it("counts what awaits an answer, not what was sent: exactly the limit outstanding gives nothing up", async () => {
    // 10 requests, 5 answered, then more until exactly MAX_PENDING await an answer; then all are answered.
    const n = MAX_PENDING + 5;
    const firstTen = Buffer.concat(Array.from({ length: 10 }, () => GET));
    const fiveEnds = Buffer.concat(Array.from({ length: 5 }, () => END));
    const rest = batched(
      n - 10,
      () => GET,
      (b, seq, bytes) => c2s(200 + b * 10, seq, bytes),
      1 + firstTen.length,
    );
    const resps = batched(
      n - 5,
      () => END,
      (b, seq, bytes) => s2c(1_000_000 + b * 10, seq, rest.end, bytes),
      1 + fiveEnds.length,
    );
    const { r } = await analyse("limit-exact", [
      ...open(),
      c2s(10, 1, firstTen),
      s2c(100, 1, 1 + firstTen.length, fiveEnds),
      ...rest.segs,
      ...resps.segs,
    ]);
    expect(r.requests).toMatchObject({ total: n, unanswered: 0 });
    expect(r.responses).toMatchObject({ total: n, untimed: 0, unpaired: 0 });
    expect(r.warnings.join("\n")).not.toMatch(/beyond the limit/);
  });

  it("gives the oldest binary requests up beyond the limit: their replies are unpaired, every later one pairs by opaque", async () => {
    const n = MAX_PENDING + 2;
    const reqs = batched(
      n,
      (i) => bin(0x80, 0x00, i, "k"),
      (b, seq, bytes) => c2s(10 + b * 10, seq, bytes),
    );
    const resps = batched(
      n,
      (i) => bin(0x81, 0x00, i),
      (b, seq, bytes) => s2c(1_000_010 + b * 10, seq, reqs.end, bytes),
    );
    const { r, seen } = await analyse("limit-binary", [...open(), ...reqs.segs, ...resps.segs]);
    expect(r.requests).toMatchObject({ total: n, unanswered: 0 });
    expect(r.responses).toMatchObject({ total: MAX_PENDING, untimed: 0, unpaired: 2 });
    expect(r.warnings.join("\n")).toMatch(/2 requests on 1 connections were beyond the limit of 10,000 awaiting/);
    const answered = seen.filter((x) => x.respFrame > 0);
    expect(answered).toHaveLength(MAX_PENDING);
    expect(new Set(answered.map((x) => x.wireUs))).toEqual(new Set([1_000_000]));
  });
});
