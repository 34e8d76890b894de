import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CaptureReader } from "../../src/analyze/capture.js";
import type { CapturedPacket, PacketSink } from "../../src/analyze/packet.js";
import { capture } from "../helpers/fixtures.js";

/** Frame number, time, link type and a checksum of the bytes of every packet. */
function readAll(bytes: Buffer, chunkSizes: (i: number) => number): string[] {
  const seen: string[] = [];
  const sink: PacketSink = {
    onPacket(p: CapturedPacket) {
      let sum = 0;
      for (let i = p.offset; i < p.offset + p.capLen; i++) sum = (sum * 31 + p.data[i]!) >>> 0;
      seen.push(`${p.frame} ${p.tNs} ${p.linkType} ${p.capLen}/${p.origLen} ${sum}`);
    },
  };
  const r = new CaptureReader(sink, "x");
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = chunkSizes(i);
    r.push(Buffer.from(bytes.subarray(at, at + n))); // a fresh copy: readers must not keep views
    at += n;
  }
  r.end();
  return seen;
}

describe("capture readers", () => {
  for (const file of [
    "split-nagle.pcap",
    "split-nagle-ns.pcap",
    "split-nagle.pcapng",
    "multi-section.pcapng",
    "big-endian.pcap",
  ]) {
    it(`${file}: the same packets whatever the chunking`, () => {
      const bytes = readFileSync(capture(file));
      const whole = readAll(bytes, () => bytes.length);
      expect(whole.length).toBeGreaterThan(90);
      for (const size of [1, 2, 3, 7, 16, 23, 24, 25, 100, 1499, 4096]) {
        expect(
          readAll(bytes, () => size),
          `chunks of ${size}`,
        ).toEqual(whole);
      }
      let seed = 7;
      const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0), 1 + (seed % 300));
      expect(readAll(bytes, rnd)).toEqual(whole);
    });
  }

  it("reads nanosecond timestamps exactly, and pcapng's per-interface resolutions onto one clock", () => {
    const ns = readAll(readFileSync(capture("split-nagle-ns.pcap")), () => 1 << 20);
    expect(ns[0]!.split(" ")[1]).toBe("0");
    // Nanosecond times are not all multiples of 1000.
    expect(ns.some((l) => Number(l.split(" ")[1]) % 1000 !== 0)).toBe(true);
    const usSource = readAll(readFileSync(capture("split-nagle.pcap")), () => 1 << 20).map((l) =>
      Number(l.split(" ")[1]),
    );
    const multi = readAll(readFileSync(capture("multi-section.pcapng")), () => 1 << 20)
      .filter((l) => !l.includes(" 0/")) // drop nothing; keep shape
      .map((l) => Number(l.split(" ")[1]));
    // Section 2 is in nanoseconds, section 1 in microseconds, both on the same clock.
    expect(multi.slice(0, 68)).toEqual(usSource.slice(0, 68));
    expect(multi.slice(69)).toEqual(usSource.slice(68));
  });
});
