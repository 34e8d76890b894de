import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { executeBinary } from "../../src/server/binary-protocol.js";
import { CLOSE, NEED_MORE, RequestFramer, type FramerLimits } from "../../src/server/framer.js";
import { Reply, ServerState } from "../../src/server/session.js";
import { executeText } from "../../src/server/text.js";

/**
 * The server's command framing under arbitrary bytes cut at arbitrary
 * points: it never throws, frames the same commands whatever the chunking,
 * and never holds more than its bounds. Every framed command also runs
 * through the protocol handlers, which must not throw either.
 */
const LIMITS: FramerLimits = { itemSizeMax: 64, maxLineBytes: 40, maxMultigetLineBytes: 120 };
/** Most bytes the framer may hold between calls: the longest line or value it waits for, plus one chunk. */
const MAX_CHUNK = 50;
const BOUND = LIMITS.maxMultigetLineBytes + LIMITS.itemSizeMax + 2 + LIMITS.maxLineBytes + MAX_CHUNK;

const WORDS = [
  "get",
  "gets",
  "gat",
  "set",
  "add",
  "cas",
  "append",
  "prepend",
  "replace",
  "incr",
  "decr",
  "touch",
  "delete",
  "mg",
  "ms",
  "md",
  "ma",
  "mn",
  "me",
  "flush_all",
  "stats",
  "version",
  "verbosity",
  "noreply",
  "quit",
  "k",
  "key1",
  "0",
  "1",
  "5",
  "-1",
  "99999999999",
  "4294967297",
  "v",
  "q",
  "k",
  "T10",
  "O123",
  "b",
  "MA",
  "N0",
];

/** Text that looks like memcached commands (so framing paths are reached), mixed with raw bytes. */
const commandish = fc
  .array(
    fc.oneof(
      fc.constantFrom(...WORDS),
      fc.constantFrom(" ", " ", "\r\n", "\n", "\r", "\x00", "  "),
      fc.stringMatching(/^[a-z0-9]{0,8}$/),
    ),
    { maxLength: 40 },
  )
  .map((parts) => Buffer.from(parts.join(""), "latin1"));

/** Binary requests with arbitrary header fields and short bodies. */
const binaryish = fc
  .tuple(
    fc.constantFrom(0x00, 0x01, 0x02, 0x05, 0x08, 0x09, 0x0a, 0x0e, 0x10, 0x11, 0x1c, 0x1d, 0x20, 0x21, 0x40, 0xff),
    fc.integer({ min: 0, max: 300 }),
    fc.integer({ min: 0, max: 24 }),
    fc.oneof(fc.integer({ min: 0, max: 120 }), fc.constant(0xffffffff)),
    fc.uint8Array({ maxLength: 80 }),
  )
  .map(([op, keylen, extlen, bodylen, body]) => {
    const h = Buffer.alloc(24);
    h[0] = 0x80;
    h[1] = op;
    h.writeUInt16BE(keylen, 2);
    h[4] = extlen;
    h.writeUInt32BE(bodylen, 8);
    return Buffer.concat([h, Buffer.from(body)]);
  });

const streams = fc.oneof(
  fc.array(commandish, { maxLength: 6 }).map((b) => Buffer.concat(b)),
  fc.array(binaryish, { maxLength: 6 }).map((b) => Buffer.concat(b)),
  fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a)),
);

/** Cut points → chunks. */
function chunked(bytes: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of [...at, bytes.length]) {
    const to = c;
    while (to - from > MAX_CHUNK) {
      out.push(Buffer.from(bytes.subarray(from, from + MAX_CHUNK)));
      from += MAX_CHUNK;
    }
    if (to > from) out.push(Buffer.from(bytes.subarray(from, to)));
    from = Math.max(from, to);
  }
  return out;
}

interface Run {
  frames: string[];
  closed: boolean;
  discarded: number;
  maxHeld: number;
}

function frameAll(chunks: Buffer[], execute: boolean): Run {
  let discarded = 0;
  const framer = new RequestFramer(LIMITS, (_b, from, to) => (discarded += to - from));
  const state = new ServerState(LIMITS.itemSizeMax, 1 << 20, "test");
  const reply = new Reply();
  const frames: string[] = [];
  let maxHeld = 0;
  for (const chunk of chunks) {
    framer.push(chunk);
    for (;;) {
      const r = framer.next();
      if (r === NEED_MORE) break;
      if (r === CLOSE) return { frames, closed: true, discarded, maxHeld };
      const f = framer.frame;
      frames.push(`${f.binary ? "b" : "t"}:${f.buf.toString("hex", f.start, f.next)}:${f.swallow}`);
      if (execute) {
        reply.reset();
        if (f.binary) executeBinary(state, reply, f);
        else executeText(state, reply, f);
      }
    }
    framer.settle();
    maxHeld = Math.max(maxHeld, framer.buffered);
  }
  return { frames, closed: false, discarded, maxHeld };
}

describe("server command framing (property)", () => {
  it("never throws, and frames the same commands whatever the chunking", () => {
    fc.assert(
      fc.property(streams, fc.array(fc.nat(), { maxLength: 12 }), (bytes, cuts) => {
        const whole = frameAll(chunked(bytes, []), true);
        const pieces = frameAll(chunked(bytes, cuts), true);
        const bytewise = frameAll(
          chunked(
            bytes,
            Array.from({ length: bytes.length }, (_, i) => i),
          ),
          false,
        );
        expect(pieces.frames).toEqual(whole.frames);
        expect(pieces.closed).toBe(whole.closed);
        expect(bytewise.frames).toEqual(whole.frames);
        expect(bytewise.closed).toBe(whole.closed);
      }),
      { numRuns: 400 },
    );
  });

  it("holds no more than its bounds, whatever arrives", () => {
    fc.assert(
      fc.property(streams, fc.array(fc.nat(), { maxLength: 12 }), (bytes, cuts) => {
        const run = frameAll(chunked(bytes, cuts), false);
        expect(run.maxHeld).toBeLessThanOrEqual(BOUND);
      }),
      { numRuns: 400 },
    );
  });

  it("discards announced data above the item limit instead of holding it", () => {
    const value = Buffer.alloc(10_000, 0x78);
    const bytes = Buffer.concat([Buffer.from("set k 0 0 10000\r\n"), value, Buffer.from("\r\nmn\r\n")]);
    const run = frameAll(chunked(bytes, [5, 100, 5000, 9000]), false);
    expect(run.frames.map((f) => Buffer.from(f.split(":")[1]!, "hex").toString())).toEqual([
      "set k 0 0 10000\r\n",
      "mn\r\n",
    ]);
    expect(run.discarded).toBe(10_002);
    expect(run.maxHeld).toBeLessThanOrEqual(BOUND);
  });
});
