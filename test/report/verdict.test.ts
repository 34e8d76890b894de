import { describe, expect, it } from "vitest";
import type { CompareFindings } from "../../src/probes/compare.js";
import { fmtPct, fmtUs } from "../../src/report/format.js";
import { compareVerdict } from "../../src/report/verdict.js";

describe("compare verdict", () => {
  it("names the stalling pattern, its share and length, and the fix with its latency", () => {
    const f: CompareFindings = {
      stalling: [{ write: "split", noDelay: false, stalledRatio: 0.97, typicalStallMs: 44 }],
      clean: [
        { write: "coalesced", noDelay: false, wireP50Us: 70 },
        { write: "split", noDelay: true, wireP50Us: 90 },
      ],
      nagleSignature: true,
      failed: [],
      unhealthy: [],
    };
    expect(compareVerdict(f)).toBe(
      "split writes with Nagle on stall 97.0 % of requests for ~44.0 ms; coalesce each command into one write or set TCP_NODELAY (coalesced + Nagle on: p50 70 µs)",
    );
  });

  it("says the write pattern is not the cause when every pattern stalls", () => {
    const f: CompareFindings = {
      stalling: [
        { write: "split", noDelay: false, stalledRatio: 1, typicalStallMs: 44 },
        { write: "coalesced", noDelay: true, stalledRatio: 0.5, typicalStallMs: 200 },
      ],
      clean: [],
      nagleSignature: false,
      failed: [],
      unhealthy: [],
    };
    expect(compareVerdict(f)).toMatch(/every pattern stalls, so the write pattern is not the cause/);
  });

  it("names failed patterns first and never reads them as stalls or as the cause", () => {
    const f: CompareFindings = {
      stalling: [{ write: "split", noDelay: false, stalledRatio: 1, typicalStallMs: 44 }],
      clean: [],
      nagleSignature: false,
      failed: [
        { write: "split", noDelay: true, errors: { timeout: 16 } },
        { write: "coalesced", noDelay: false, errors: { timeout: 12, closed: 4 } },
      ],
      unhealthy: [],
    };
    const v = compareVerdict(f);
    expect(v).toBe(
      "cannot be trusted: every request failed in split + TCP_NODELAY (timeout 16); coalesced + Nagle on (timeout 12, closed 4). " +
        "split writes with Nagle on stall 100 % of requests for ~44.0 ms; not every pattern ran clean and healthy, so this comparison cannot tell whether the write pattern is the cause",
    );
    expect(v).not.toMatch(/every pattern stalls/);
  });

  it("says so when nothing stalls", () => {
    expect(
      compareVerdict({
        stalling: [],
        clean: [{ write: "split", noDelay: false, wireP50Us: 300 }],
        nagleSignature: false,
        failed: [],
        unhealthy: [],
      }),
    ).toMatch(/^no write pattern stalled/);
  });

  it("formats durations and shares for people", () => {
    expect([fmtUs(68), fmtUs(1250), fmtUs(43_812), fmtUs(2_100_000)]).toEqual([
      "68 µs",
      "1.25 ms",
      "43.8 ms",
      "2.10 s",
    ]);
    expect([fmtPct(0), fmtPct(1), fmtPct(0.9731), fmtPct(0.0004)]).toEqual(["0 %", "100 %", "97.3 %", "<0.1 %"]);
  });
});
