import fc from "fast-check";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CaptureReader } from "../../src/analyze/capture.js";
import { newTcpPacket } from "../../src/analyze/decode.js";
import type { CapturedPacket, PacketSink } from "../../src/analyze/packet.js";
import { HalfStream, type StreamConsumer } from "../../src/analyze/reassembly.js";
import { isMcdiagError } from "../../src/util/errors.js";
import { capture } from "../helpers/fixtures.js";

/** Reads bytes cut at the given points; returns a digest of every packet and the outcome. */
function readCut(bytes: Buffer, cuts: number[]): { packets: string[]; outcome: string; heldBytes: number } {
  const packets: string[] = [];
  let heldBytes = 0;
  const sink: PacketSink = {
    onPacket(p: CapturedPacket) {
      let sum = 0;
      for (let i = p.offset; i < p.offset + p.capLen; i++) sum = (sum * 31 + p.data[i]!) >>> 0;
      packets.push(`${p.frame} ${p.tNs} ${p.linkType} ${p.capLen}/${p.origLen} ${sum}`);
      heldBytes = Math.max(heldBytes, p.data.length);
    },
  };
  const r = new CaptureReader(sink, "x");
  const points = [...new Set(cuts.map((c) => Math.min(c, bytes.length)))].sort((a, b) => a - b);
  let at = 0;
  let outcome = "ok";
  try {
    for (const p of [...points, bytes.length]) {
      if (p <= at) continue;
      r.push(Buffer.from(bytes.subarray(at, p))); // a fresh copy: readers must not keep views
      at = p;
    }
    r.end();
  } catch (err) {
    // The only exception a reader may throw is a one-line bad-input error.
    if (!isMcdiagError(err) || err.code !== "BAD_INPUT" || err.message.includes("\n")) throw err;
    outcome = `bad input: ${err.message}`;
  }
  return { packets, outcome: `${outcome} | ${r.info.warnings.join(" | ")}`, heldBytes };
}

const seeds = ["split-nagle.pcap", "split-nagle-ns.pcap", "multi-section.pcapng", "big-endian.pcap"].map((f) =>
  readFileSync(capture(f)),
);

/** A real capture with a few bytes overwritten, a piece cut out, or garbage appended. */
const damagedCapture = fc
  .tuple(
    fc.integer({ min: 0, max: seeds.length - 1 }),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
    fc.option(fc.tuple(fc.nat(), fc.nat({ max: 400 }))),
    fc.uint8Array({ maxLength: 64 }),
  )
  .map(([i, flips, cut, tail]) => {
    const b = Buffer.from(seeds[i]!);
    for (const [at, v] of flips) b[at % b.length] = v;
    let out = b;
    if (cut !== null) {
      const from = cut[0] % b.length;
      out = Buffer.concat([b.subarray(0, from), b.subarray(Math.min(b.length, from + cut[1]))]);
    }
    return Buffer.concat([out, Buffer.from(tail)]);
  });

const anyBytes = fc.oneof(
  fc.uint8Array({ maxLength: 2048 }).map((a) => Buffer.from(a)),
  damagedCapture,
);
const cuts = fc.array(fc.nat({ max: 20_000 }), { maxLength: 12 });

describe("capture readers, on arbitrary bytes at arbitrary chunkings", () => {
  it("never throw anything but a one-line bad-input error, and give the same packets however the bytes are cut", () => {
    fc.assert(
      fc.property(anyBytes, cuts, (bytes, c) => {
        const whole = readCut(bytes, []);
        const chunked = readCut(bytes, c);
        expect(chunked.packets).toEqual(whole.packets);
        expect(chunked.outcome).toEqual(whole.outcome);
      }),
      { numRuns: 300 },
    );
  });

  it("stay within a memory bound: no buffer sized by a corrupt length field", () => {
    fc.assert(
      fc.property(damagedCapture, (bytes) => {
        // Every packet handed out lives in a buffer of bounded size (the chunk, or a record of at most 16 MiB).
        expect(readCut(bytes, []).heldBytes).toBeLessThanOrEqual(16 * 1024 * 1024 + bytes.length);
      }),
      { numRuns: 200 },
    );
  });

  it("end a capture cut inside a record with one line naming the damage, keeping the packets before it", () => {
    const pcaps = [seeds[0]!, seeds[3]!]; // little- and big-endian classic pcap: record boundaries are easy to list
    const boundaries = pcaps.map((b) => {
      const le = b.readUInt32LE(0) === 0xa1b2c3d4;
      const out = new Set<number>();
      for (let at = 24; at <= b.length; at += 16 + (le ? b.readUInt32LE(at + 8) : b.readUInt32BE(at + 8))) {
        out.add(at);
        if (at + 16 > b.length) break;
      }
      return out;
    });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 }), fc.nat(), (i, at) => {
        const good = pcaps[i]!;
        const cutAt = 24 + (at % (good.length - 24));
        const whole = readCut(good, []);
        const cut = readCut(good.subarray(0, cutAt), []);
        expect(whole.packets.slice(0, cut.packets.length)).toEqual(cut.packets);
        if (boundaries[i]!.has(cutAt)) expect(cut.outcome).toBe("ok | ");
        else
          expect(cut.outcome).toMatch(
            /^ok \| x: file ends inside a packet record at byte \d+ \(cut short\); analysed the \d+ packets before it$/,
          );
      }),
      { numRuns: 300 },
    );
  });
});

/** Feeds one direction's segments to a HalfStream in the given order; returns the bytes it delivered. */
function reassemble(segs: { seq: number; data: Buffer }[], isn: number): { bytes: string; gaps: number } {
  const out: string[] = [];
  let gaps = 0;
  const c: StreamConsumer = {
    onData(_d, buf, from, to) {
      out.push(buf.toString("latin1", from, to));
    },
    onGap() {
      gaps++;
    },
  };
  const h = new HalfStream(0);
  const p = newTcpPacket();
  const feed = (seq: number, data: Buffer, flags: number, frame: number) => {
    p.seq = seq >>> 0;
    p.flags = flags;
    p.payloadAt = 0;
    p.payloadLen = data.length;
    p.capturedPayload = data.length;
    h.onSegment(p, data, frame, frame * 1000, c);
  };
  feed(isn, Buffer.alloc(0), 0x02, 0);
  segs.forEach((s, i) => feed(s.seq, s.data, 0x18, i + 1));
  h.flush(c);
  return { bytes: out.join(""), gaps };
}

describe("TCP reassembly", () => {
  const stream = fc.tuple(fc.string({ minLength: 1, maxLength: 400 }), fc.nat({ max: 0xffffffff }));

  it("delivers the stream exactly once, in order, whatever the segmentation, reordering and duplication (across the 2^32 wrap)", () => {
    fc.assert(
      fc.property(
        stream,
        fc.array(fc.nat({ max: 400 }), { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 5 }),
        ([text, isn], cutPoints, swaps, dups) => {
          const data = Buffer.from(text, "latin1");
          const points = [...new Set(cutPoints.map((c) => c % data.length).filter((c) => c > 0))].sort((a, b) => a - b);
          const bounds = [0, ...points, data.length];
          const segs = bounds
            .slice(1)
            .map((end, i) => ({ seq: (isn + 1 + bounds[i]!) >>> 0, data: data.subarray(bounds[i], end) }));
          // Reorder a little (within the hold limit) and send some segments twice.
          for (const s of swaps) {
            const i = s % segs.length;
            const j = Math.min(segs.length - 1, i + 1 + (s % 3));
            [segs[i], segs[j]] = [segs[j]!, segs[i]!];
          }
          for (const d of dups) segs.push(segs[d % segs.length]!);
          const r = reassemble(segs, isn);
          expect(r.gaps).toBe(0);
          expect(r.bytes).toBe(text);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("never throws and never delivers more bytes than were sent, on arbitrary segments", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 0xffffffff }),
        fc.array(fc.tuple(fc.nat({ max: 0xffffffff }), fc.uint8Array({ minLength: 1, maxLength: 64 })), {
          maxLength: 80,
        }),
        (isn, raw) => {
          const segs = raw.map(([seq, d]) => ({ seq, data: Buffer.from(d) }));
          const r = reassemble(segs, isn);
          expect(r.bytes.length).toBeLessThanOrEqual(segs.reduce((n, s) => n + s.data.length, 0));
        },
      ),
      { numRuns: 300 },
    );
  });
});
