import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ResponseParser, type ParsedResponse } from "../../src/protocol/response-parser.js";

const LIMITS = { maxLineBytes: 256, maxValueBytes: 4096 };

interface Seen {
  kind: string;
  values: number;
  valueBytes: number;
  message: string;
  startOffset: number;
  data: string[];
}

/** Parses `bytes` cut at `cuts`; returns every response and the most bytes ever held over. */
function parse(bytes: Uint8Array, cuts: number[]): { seen: Seen[]; maxBuffered: number } {
  const seen: Seen[] = [];
  const p = new ResponseParser(
    (r: ParsedResponse) =>
      seen.push({
        kind: r.kind,
        values: r.values,
        valueBytes: r.valueBytes,
        message: r.message,
        startOffset: r.startOffset,
        data: r.items.map((i) => i.data.toString("latin1")),
      }),
    { ...LIMITS, collect: true, initialBufferBytes: 64 },
  );
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  let maxBuffered = 0;
  for (const to of [...at, bytes.length]) {
    // A fresh Buffer per chunk, as a socket hands them over.
    p.push(Buffer.from(bytes.subarray(from, to)));
    maxBuffered = Math.max(maxBuffered, p.bufferedBytes);
    from = to;
  }
  return { seen, maxBuffered };
}

/** A well-formed reply of any kind the parser knows, as bytes, with the kind it must be read as. */
const reply: fc.Arbitrary<{ bytes: Buffer; kind: string }> = fc.oneof(
  fc
    .array(fc.tuple(fc.stringMatching(/^[a-z:0-9]{1,20}$/), fc.uint8Array({ maxLength: 300 })), { maxLength: 3 })
    .map((items) => ({
      bytes: Buffer.concat([
        ...items.flatMap(([key, data]) => [
          Buffer.from(`VALUE ${key} 0 ${data.length}\r\n`),
          Buffer.from(data),
          Buffer.from("\r\n"),
        ]),
        Buffer.from("END\r\n"),
      ]),
      kind: "values",
    })),
  fc.constantFrom(
    { bytes: Buffer.from("STORED\r\n"), kind: "stored" },
    { bytes: Buffer.from("VERSION 1.6.21\r\n"), kind: "version" },
    { bytes: Buffer.from("SERVER_ERROR out of memory\r\n"), kind: "server_error" },
    { bytes: Buffer.from("ERROR\r\n"), kind: "error" },
    { bytes: Buffer.from("MN\r\n"), kind: "meta" },
    { bytes: Buffer.from("STAT pid 1\r\nSTAT uptime 2\r\nEND\r\n"), kind: "stats" },
  ),
  fc.nat({ max: 1e12 }).map((n) => ({ bytes: Buffer.from(`${n}\r\n`), kind: "number" })),
);

describe("ResponseParser properties (fast-check)", () => {
  it("arbitrary bytes cut anywhere: never throws, the same responses for every chunking, bounded memory", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (bytes, cutsA, cutsB) => {
          const a = parse(bytes, cutsA);
          const b = parse(bytes, cutsB);
          expect(a.seen).toEqual(b.seen);
          expect(a.seen).toEqual(parse(bytes, []).seen);
          // Held over between pushes: at most one line within its limit, or one data block within its limit.
          expect(a.maxBuffered).toBeLessThanOrEqual(Math.max(LIMITS.maxLineBytes, LIMITS.maxValueBytes + 2));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("well-formed replies cut anywhere are read back, in order, each at its own stream offset", () => {
    fc.assert(
      fc.property(
        fc.array(reply, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (replies, cuts) => {
          const bytes = Buffer.concat(replies.map((r) => r.bytes));
          const { seen } = parse(bytes, cuts);
          expect(seen.map((s) => s.kind)).toEqual(replies.map((r) => r.kind));
          let offset = 0;
          for (let i = 0; i < replies.length; i++) {
            expect(seen[i]!.startOffset).toBe(offset);
            offset += replies[i]!.bytes.length;
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a line without an end, or a data block past the limit, is a protocol error, not a buffer that grows", () => {
    fc.assert(
      fc.property(
        fc
          .uint8Array({ minLength: LIMITS.maxLineBytes + 1, maxLength: 20_000 })
          .map((b) => b.map((x) => (x === 10 ? 32 : x))),
        fc.nat({ max: 1e15 }).filter((n) => n > LIMITS.maxValueBytes),
        (noLineEnd, claimed) => {
          const long = parse(noLineEnd, [100, 1000]);
          expect(long.seen.at(-1)?.kind).toBe("protocol_error");
          expect(long.maxBuffered).toBeLessThanOrEqual(noLineEnd.length);
          const huge = parse(Buffer.from(`VALUE k 0 ${claimed}\r\nxxxx`), []);
          expect(huge.seen).toHaveLength(1);
          expect(huge.seen[0]!.kind).toBe("protocol_error");
          expect(huge.maxBuffered).toBe(0);
        },
      ),
      { numRuns: 100 },
    );
  });
});
