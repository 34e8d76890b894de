import { describe, expect, it } from "vitest";
import { newExchangeRecord, type ExchangeRecord } from "../../src/analyze/aggregate.js";
import {
  RTX_FAST,
  RTX_PROBE,
  RTX_TIMEOUT,
  ZW_FULL,
  ZW_ZERO,
  addRetransmission,
  addZeroWindow,
  clearAttribution,
  copyAttribution,
  mergeAttribution,
} from "../../src/analyze/attribution.js";
import { connectRule } from "../../src/analyze/cause-connect.js";
import { delayedAckRule } from "../../src/analyze/cause-delayed-ack.js";
import { retransmissionRule } from "../../src/analyze/cause-retransmission.js";
import { serverRule } from "../../src/analyze/cause-server.js";
import { zeroWindowRule } from "../../src/analyze/cause-zero-window.js";
import { CAUSE_RULES, dominantCause, slowTimeNs } from "../../src/analyze/causes.js";

const MS = 1e6;

/** A get sent at 100 ms (frames 1–2), answered from 150 ms to 160 ms (frames 3–4). */
function exchange(): ExchangeRecord {
  const x = newExchangeRecord();
  x.reqFirstTNs = 100 * MS;
  x.reqLastTNs = 101 * MS;
  x.reqFirstFrame = 1;
  x.reqLastFrame = 2;
  x.respFirstTNs = 150 * MS;
  x.respLastTNs = 160 * MS;
  x.respFirstFrame = 3;
  x.respLastFrame = 4;
  return x;
}

describe("cause rules: what each charges and the frames it names", () => {
  it("slow time is the time on the wire plus the connection's set-up for its first exchange", () => {
    const x = exchange();
    expect(slowTimeNs(x)).toBe(60 * MS);
    x.connectNs = 1000 * MS;
    expect(slowTimeNs(x)).toBe(1060 * MS);
  });

  it("server: the gap between the request's last byte and the reply's first, less what loss explains, from the slow threshold", () => {
    const x = exchange();
    expect(serverRule.costNs(x, 49 * MS)).toBe(49 * MS);
    expect(serverRule.costNs(x, 49.001 * MS)).toBe(0);
    x.serverLossNs = 9 * MS;
    expect(serverRule.costNs(x, 40 * MS)).toBe(40 * MS);
    expect(serverRule.costNs(x, 41 * MS)).toBe(0);
    expect(serverRule.frames(x)).toEqual([2, 3]);
    // No reply seen: the server is not charged with the wait.
    x.respFirstTNs = 0;
    expect(serverRule.costNs(x, 0)).toBe(0);
  });

  it("delayed ACK: the sum of the stalls inside request and reply, and the first stall's frames", () => {
    const x = exchange();
    expect(delayedAckRule.costNs(x, 0)).toBe(0);
    expect(delayedAckRule.frames(x)).toEqual([]);
    x.stalls = [
      { side: "request", stallNs: 40 * MS, before: 1, ack: 5, after: 2, tNs: 0 },
      { side: "response", stallNs: 41 * MS, before: 3, ack: 6, after: 4, tNs: 0 },
    ];
    expect(delayedAckRule.costNs(x, 0)).toBe(81 * MS);
    expect(delayedAckRule.frames(x)).toEqual([1, 5, 2]);
  });

  it("retransmission: its time and first/last frame; persist probes in a shut window are zero-window's", () => {
    const x = exchange();
    expect(retransmissionRule.frames(x)).toEqual([]);
    addRetransmission(x, RTX_TIMEOUT, 200 * MS, 7);
    expect(retransmissionRule.costNs(x, 0)).toBe(200 * MS);
    expect(retransmissionRule.frames(x)).toEqual([7]);
    addRetransmission(x, RTX_FAST, 10 * MS, 9);
    expect(retransmissionRule.costNs(x, 0)).toBe(210 * MS);
    expect(retransmissionRule.frames(x)).toEqual([7, 9]);
    // A zero-window probe without a shut window is still a resend…
    addRetransmission(x, RTX_PROBE, 0, 11);
    expect(retransmissionRule.costNs(x, 0)).toBe(210 * MS);
    // …with one, the time is the window's.
    addZeroWindow(x, ZW_ZERO, 1, 300 * MS, 8, 12);
    expect(retransmissionRule.costNs(x, 0)).toBe(0);
    expect(zeroWindowRule.costNs(x, 0)).toBe(300 * MS);
    // A shut window without probes leaves the resends their own.
    const y = exchange();
    addRetransmission(y, RTX_TIMEOUT, 200 * MS, 7);
    addZeroWindow(y, ZW_ZERO, 2, 300 * MS, 8, 12);
    expect(retransmissionRule.costNs(y, 0)).toBe(200 * MS);
  });

  it("zero window and connect: their time, and no frames when they did not happen", () => {
    const x = exchange();
    expect(zeroWindowRule.frames(x)).toEqual([]);
    expect(connectRule.frames(x)).toEqual([]);
    addZeroWindow(x, ZW_ZERO, 2, 300 * MS, 8, 12);
    expect(zeroWindowRule.frames(x)).toEqual([8, 12]);
    x.connectNs = 1000 * MS;
    x.connectFrame = 20;
    x.connectRetryFrame = 21;
    x.connectDoneFrame = 22;
    expect(connectRule.costNs(x, 0)).toBe(1000 * MS);
    expect(connectRule.frames(x)).toEqual([20, 21, 22]);
  });

  it("names the timer a typical cost matches, edges included", () => {
    const delack = (ms: number) => delayedAckRule.timer(ms);
    expect([34, 35, 60, 61].map(delack)).toEqual([
      "not a common delayed-ACK timer",
      expect.stringMatching(/TCP_DELACK_MIN/),
      expect.stringMatching(/TCP_DELACK_MIN/),
      "not a common delayed-ACK timer",
    ]);
    expect([89, 90, 110, 111].map((ms) => /macOS/.test(delack(ms)))).toEqual([false, true, true, false]);
    expect([179, 180, 220, 221].map((ms) => /Windows/.test(delack(ms)))).toEqual([false, true, true, false]);
    const rtx = (ms: number) => retransmissionRule.timer(ms);
    expect(rtx(149.9)).toMatch(/one round trip/);
    expect(rtx(150)).toMatch(/TCP_RTO_MIN/);
    expect(rtx(330)).toMatch(/TCP_RTO_MIN/);
    expect(rtx(330.1)).toMatch(/^RTO backoff/);
    expect(rtx(1500)).toMatch(/^RTO backoff/);
    expect(rtx(1500.1)).toMatch(/^several RTO backoffs/);
    const syn = (ms: number) => connectRule.timer(ms);
    expect([799, 800, 1500, 1501].map((ms) => /TCP_TIMEOUT_INIT/.test(syn(ms)))).toEqual([false, true, true, false]);
    expect([2499, 2500, 3500, 3501].map((ms) => /two SYN retries/.test(syn(ms)))).toEqual([false, true, true, false]);
    expect(syn(5000)).toMatch(/back off 1 s, 2 s, 4 s/);
    expect(serverRule.timer(50)).toMatch(/^the server's own time/);
    expect(zeroWindowRule.timer(300)).toMatch(/^the receiver's buffer was full; .*persist timer/);
  });
});

describe("the dominant cause", () => {
  it("is the rule that cost the most, with its cost; none when no rule applies", () => {
    const x = exchange();
    const out = { costNs: -1 };
    expect(dominantCause(x, 100 * MS, out)).toBeUndefined();
    expect(out.costNs).toBe(0);
    x.stalls = [{ side: "request", stallNs: 45 * MS, before: 1, ack: 5, after: 2, tNs: 0 }];
    expect(dominantCause(x, 100 * MS, out)?.cause).toBe("delayed-ack");
    expect(out.costNs).toBe(45 * MS);
    expect(dominantCause(x, 40 * MS, out)?.cause).toBe("server"); // 49 ms of server time beats 45 ms of stall
    expect(out.costNs).toBe(49 * MS);
  });

  it("breaks ties in the rules' order: zero-window, retransmission, connect, delayed-ack, server", () => {
    expect(CAUSE_RULES.map((r) => r.cause)).toEqual([
      "zero-window",
      "retransmission",
      "connect",
      "delayed-ack",
      "server",
    ]);
    const x = exchange();
    const out = { costNs: 0 };
    x.stalls = [{ side: "request", stallNs: 49 * MS, before: 1, ack: 5, after: 2, tNs: 0 }];
    expect(dominantCause(x, 1, out)?.cause).toBe("delayed-ack"); // 49 ms each: the stall comes first
    x.connectNs = 49 * MS;
    expect(dominantCause(x, 1, out)?.cause).toBe("connect");
    addRetransmission(x, RTX_TIMEOUT, 49 * MS, 7);
    expect(dominantCause(x, 1, out)?.cause).toBe("retransmission");
    addZeroWindow(x, ZW_ZERO, 1, 49 * MS, 8, 9);
    expect(dominantCause(x, 1, out)?.cause).toBe("zero-window");
  });
});

describe("attribution bookkeeping", () => {
  it("adds time (never a negative one), keeps the first frame and moves the last", () => {
    const a = newExchangeRecord();
    addRetransmission(a, RTX_TIMEOUT, 5, 10);
    addRetransmission(a, RTX_FAST, -3, 12);
    expect(a).toMatchObject({ rtxNs: 5, rtxKinds: RTX_TIMEOUT | RTX_FAST, rtxFrame: 10, rtxLastFrame: 12 });
    addZeroWindow(a, ZW_ZERO, 1, 7, 20, 21);
    addZeroWindow(a, ZW_ZERO, 2, -1, 22, 23);
    expect(a).toMatchObject({ zwNs: 7, zwReader: 2, zwFrame: 20, zwLastFrame: 23 });
  });

  it("merges only what the other side saw, and copy starts from nothing", () => {
    const a = newExchangeRecord();
    const b = newExchangeRecord();
    addRetransmission(a, RTX_TIMEOUT, 5, 10);
    addZeroWindow(a, ZW_ZERO, 1, 7, 20, 21);
    mergeAttribution(a, b); // b saw nothing: a unchanged
    expect(a).toMatchObject({ rtxNs: 5, rtxFrame: 10, rtxLastFrame: 10, zwNs: 7, zwReader: 1, zwLastFrame: 21 });
    addRetransmission(b, RTX_FAST, 3, 30);
    addRetransmission(b, RTX_FAST, 0, 31);
    addZeroWindow(b, ZW_ZERO, 2, 4, 40, 41);
    mergeAttribution(a, b);
    expect(a).toMatchObject({ rtxNs: 8, rtxKinds: RTX_TIMEOUT | RTX_FAST, rtxFrame: 10, rtxLastFrame: 31 });
    expect(a).toMatchObject({ zwNs: 11, zwReader: 2, zwFrame: 20, zwLastFrame: 41 });
    const c = newExchangeRecord();
    mergeAttribution(c, b); // into an empty record the first frames are b's
    expect(c).toMatchObject({ rtxFrame: 30, zwFrame: 40 });
    copyAttribution(a, b);
    expect(a).toMatchObject({ rtxNs: 3, rtxKinds: RTX_FAST, rtxFrame: 30, zwNs: 4, zwFrame: 40, zwLastFrame: 41 });
    clearAttribution(a);
    expect(a).toMatchObject({ rtxNs: 0, rtxKinds: 0, rtxFrame: 0, rtxLastFrame: 0 });
    expect(a).toMatchObject({ zwNs: 0, zwReader: 0, zwFrame: 0, zwLastFrame: 0 });
  });

  it("keeps every way a window held a message back, and counts the persist probes of both sides", () => {
    // The report lists each way ("a zero window was advertised", "the sender filled the advertised
    // window") and the number of persist probes, so neither may be lost when findings add up.
    const a = newExchangeRecord();
    addZeroWindow(a, ZW_ZERO, 1, 7, 20, 21);
    expect(a.zwKinds).toBe(ZW_ZERO);
    addZeroWindow(a, ZW_FULL, 1, 3, 22, 23);
    expect(a.zwKinds).toBe(ZW_ZERO | ZW_FULL);
    a.zwProbes = 2;
    const b = newExchangeRecord();
    addZeroWindow(b, ZW_FULL, 2, 4, 40, 41);
    b.zwProbes = 3;
    mergeAttribution(a, b);
    expect(a).toMatchObject({ zwKinds: ZW_ZERO | ZW_FULL, zwProbes: 5 });
  });
});
