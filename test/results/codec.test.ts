import { deflateSync } from "node:zlib";
import * as hdr from "hdr-histogram-js";
import { describe, expect, it } from "vitest";
import { HISTOGRAM_SETTINGS, newHistogram, recordClampedUs, summarize } from "../../src/metrics/histogram.js";
import {
  decodeHistogram,
  encodeHistogram,
  HISTOGRAM_BUCKETS,
  MAX_ENCODED_HISTOGRAM_CHARS,
} from "../../src/results/histogram-codec.js";
import { recordKindOf, RECORD_VERSION, withEnvelope } from "../../src/results/record.js";

/** Latency-like samples: mostly sub-millisecond, a 40 ms stall mode, a few seconds-long outliers. */
function samples(n: number, seed = 7): number[] {
  let x = seed;
  const rnd = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = rnd();
    out.push(r < 0.9 ? 20 + rnd() * 800 : r < 0.999 ? 40_000 + rnd() * 4000 : 1_000_000 + rnd() * 2e6);
  }
  return out;
}

/** The V2 uncompressed layout around a payload, with chosen settings, compressed and base64'd. */
function handMade(payload: Buffer, o: { digits?: number; lowest?: number; highest?: number; length?: number } = {}) {
  const head = Buffer.alloc(40);
  head.writeInt32BE(0x1c849313, 0);
  head.writeInt32BE(o.length ?? payload.length, 4);
  head.writeInt32BE(0, 8);
  head.writeInt32BE(o.digits ?? 3, 12);
  head.writeBigInt64BE(BigInt(o.lowest ?? 1), 16);
  head.writeBigInt64BE(BigInt(o.highest ?? 3_600_000_000), 24);
  head.writeBigInt64BE(1n, 32);
  const deflated = deflateSync(Buffer.concat([head, payload]));
  const outer = Buffer.alloc(8);
  outer.writeInt32BE(0x1c849314, 0);
  outer.writeInt32BE(deflated.length, 4);
  return Buffer.concat([outer, deflated]).toString("base64");
}

describe("histogram encoding", () => {
  it("round-trips every bucket count, so percentiles, mean and max survive exactly", () => {
    const h = newHistogram();
    for (const us of samples(50_000)) recordClampedUs(h, us);
    const s = summarize(h);
    const back = decodeHistogram(encodeHistogram(h), "t", s);
    expect(summarize(back)).toEqual(s);
    for (const p of [1, 25, 50, 90, 99, 99.9, 99.99, 100]) {
      expect(back.getValueAtPercentile(p)).toBe(h.getValueAtPercentile(p));
    }
    expect(back.totalCount).toBe(50_000);
  });

  it("without its summary, keeps the buckets: max and min are their bucket bounds (within 0.1 %)", () => {
    const h = newHistogram();
    recordClampedUs(h, 2_876_445);
    recordClampedUs(h, 100_003);
    const back = decodeHistogram(encodeHistogram(h), "t");
    expect(back.maxValue).toBeGreaterThanOrEqual(2_876_445);
    expect(back.maxValue / 2_876_445).toBeLessThan(1.001);
    expect(back.minNonZeroValue).toBeLessThanOrEqual(100_003);
  });

  it("refuses a summary that disagrees with the histogram", () => {
    const h = newHistogram();
    recordClampedUs(h, 5000);
    const text = encodeHistogram(h);
    expect(() => decodeHistogram(text, "t", { count: 2, min: 5000, max: 5000 })).toThrow(
      /t: the histogram does not decode: it holds 1 values, but its summary counts 2/,
    );
    expect(() => decodeHistogram(text, "t", { count: 1, min: 5000, max: 9000 })).toThrow(
      /max 9000 is not in its top bucket/,
    );
  });

  it("is readable by hdr-histogram-js's own decoder with the project's settings", () => {
    const h = newHistogram();
    for (const us of samples(1000)) recordClampedUs(h, us);
    const other = hdr.decodeFromCompressedBase64(encodeHistogram(h), HISTOGRAM_SETTINGS.bitBucketSize);
    expect(other.getValueAtPercentile(99)).toBe(h.getValueAtPercentile(99));
  });

  it("decodes into 64-bit buckets: merged counts past 2^32 stay exact", () => {
    const a = decodeHistogram(encodeHistogram(newHistogram()), "t");
    a.recordValueWithCount(100, 3_000_000_000);
    const b = decodeHistogram(encodeHistogram(a), "t");
    a.add(b);
    expect(a.totalCount).toBe(6_000_000_000);
    expect(decodeHistogram(encodeHistogram(a), "t").totalCount).toBe(6_000_000_000);
  });

  it("states its bound: the fullest possible histogram encodes under the documented limit", () => {
    const h = hdr.build({ ...HISTOGRAM_SETTINGS, bitBucketSize: 64 });
    for (let v = 1, i = 0; v < HISTOGRAM_SETTINGS.highestTrackableValue; i++) {
      h.recordValueWithCount(v, 1 + ((i * 2654435761) % 2 ** 32));
      v = v < 2048 ? v + 1 : Math.ceil(v * 1.0005);
    }
    const text = encodeHistogram(h);
    expect(HISTOGRAM_BUCKETS).toBe(23_552);
    expect(text.length).toBeLessThan(MAX_ENCODED_HISTOGRAM_CHARS);
    expect(decodeHistogram(text, "t").totalCount).toBe(h.totalCount);
  });

  it.each([
    ["a number", 42, /t: the histogram does not decode: not a string/],
    ["an empty string", "", /not base64/],
    ["text that is not base64", "not*base64!", /not base64/],
    ["another format (a JSON blob in base64)", Buffer.from('{"a":1}xx').toString("base64"), /not HdrHistogram's/],
    ["a truncated encoding", "", /truncated/],
    ["corrupt deflate data", "", /corrupt/],
    ["other settings (ms, 2 digits)", handMade(Buffer.alloc(0), { digits: 2, highest: 3_600_000 }), /not mcdiag's/],
    ["a payload longer than the data", handMade(Buffer.from([2]), { length: 50 }), /truncated/],
    ["a count cut in the middle", handMade(Buffer.from([0x80])), /truncated inside a count/],
    [
      "more buckets than the settings have",
      handMade(Buffer.from([0x81, 0xf0, 0x05, 2])),
      /more than the 23552 buckets/,
    ],
    ["an encoding far too long", "A".repeat(MAX_ENCODED_HISTOGRAM_CHARS + 4), /more than a histogram/],
  ])("refuses %s with one line naming where it was", (_what, input, want) => {
    let text = input;
    const good = encodeHistogram(newHistogram());
    if (_what === "a truncated encoding") text = good.slice(0, good.length - 8);
    if (_what === "corrupt deflate data") {
      const b = Buffer.from(good, "base64");
      b.fill(0x55, 10);
      text = b.toString("base64");
    }
    let message = "";
    try {
      decodeHistogram(text, "t");
    } catch (err) {
      message = (err as Error).message;
      expect((err as { code?: string }).code).toBe("BAD_INPUT");
    }
    expect(message).toMatch(want);
    expect(message).toMatch(/^t: /);
    expect(message).not.toContain("\n");
  });
});

describe("record envelope", () => {
  it("opens every result with its kind and version", () => {
    const doc = withEnvelope("probe", { endpoint: "x" });
    expect(Object.keys(doc).slice(0, 2)).toEqual(["kind", "version"]);
    expect(recordKindOf(JSON.parse(JSON.stringify(doc)), "f.json")).toBe("probe");
  });

  it.each([
    [[1, 2], /f.json: not an mcdiag result \(not a JSON object\)/],
    [{ endpoint: "x" }, /f.json: not an mcdiag result \(no "kind"/],
    [{ kind: "vegeta.result", version: 1 }, /kind 'vegeta.result'/],
    [{ kind: "mcdiag.probe" }, /without a valid "version"/],
    [{ kind: "mcdiag.probe", version: RECORD_VERSION + 1 }, /newer than this mcdiag reads/],
  ])("refuses %j", (doc, want) => {
    expect(() => recordKindOf(doc, "f.json")).toThrow(want);
  });
});
