import { describe, expect, it } from "vitest";
import { seqAdd, seqDiff, seqLess, seqLessEq } from "../../src/analyze/seq.js";

describe("TCP serial arithmetic", () => {
  it("measures forward and backward distances across the 2^32 wrap", () => {
    expect(seqDiff(0xffff_fff0, 0x10)).toBe(0x20);
    expect(seqDiff(0x10, 0xffff_fff0)).toBe(-0x20);
    expect(seqDiff(5, 5)).toBe(0);
    expect(seqDiff(0, 0x7fff_ffff)).toBe(0x7fff_ffff);
    // 2^32 is right, not 2^32 - 1 (gopacket's reassembly off-by-one).
    expect(seqDiff(0xffff_ffff, 0)).toBe(1);
    // Half-way round is forward, from either side: the range is (-2^31, 2^31].
    expect(seqDiff(0, 0x8000_0000)).toBe(0x8000_0000);
    expect(seqDiff(0x8000_0000, 0)).toBe(0x8000_0000);
    expect(seqDiff(0x7fff_ffff, 0xffff_ffff)).toBe(0x8000_0000);
  });

  it("adds with wrap, both ways", () => {
    expect(seqAdd(0xffff_ffff, 1)).toBe(0);
    expect(seqAdd(0xffff_fffe, 5)).toBe(3);
    expect(seqAdd(2, -5)).toBe(0xffff_fffd);
    expect(seqAdd(0x7fff_ffff, 0x8000_0001)).toBe(0);
    expect(seqAdd(0x8000_0000, 0x8000_0000)).toBe(0);
    expect(seqAdd(0, -0x1_0000_0000)).toBe(0);
  });

  it("orders numbers across the wrap", () => {
    expect(seqLess(0xffff_ff00, 0x100)).toBe(true);
    expect(seqLess(0x100, 0xffff_ff00)).toBe(false);
    expect(seqLessEq(7, 7)).toBe(true);
    expect(seqLess(7, 7)).toBe(false);
  });
});
