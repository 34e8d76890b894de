import { describe, expect, it } from "vitest";
import { TCP_ACK, TCP_PSH } from "../../src/analyze/decode.js";
import { MAX_EXCHANGE_PACKETS, PacketLog } from "../../src/analyze/packet-log.js";

const DATA = TCP_PSH | TCP_ACK;

describe("packet log for the waterfall", () => {
  it("lists one flow's packets of an exchange, oldest first, times from its first, with the other flows left out", () => {
    const log = new PacketLog();
    log.record(1, 10, 1_000_000, true, DATA, 100, 4); // "get "
    log.record(2, 11, 1_100_000, true, DATA, 500, 20); // another connection
    log.record(1, 12, 44_700_000, false, TCP_ACK, 900, 0); // the server's delayed pure ACK
    log.record(1, 13, 44_720_000, true, DATA, 104, 10); // the rest of the command
    log.record(1, 14, 44_760_000, false, DATA, 900, 60); // the response
    log.record(1, 15, 44_800_000, true, TCP_ACK, 114, 0); // after the exchange
    const { packets, omitted } = log.collect(1, 10, 14);
    expect(omitted).toBe(0);
    expect(packets.map((p) => p.frame)).toEqual([10, 12, 13, 14]);
    expect(packets.map((p) => p.tMs)).toEqual([0, 43.7, 43.72, 43.76]);
    expect(packets.map((p) => p.dir)).toEqual(["c2s", "s2c", "c2s", "s2c"]);
    expect(packets[1]).toEqual({ frame: 12, tMs: 43.7, dir: "s2c", bytes: 0, flags: ["ACK"] });
    expect(packets.some((p) => p.retransmission)).toBe(false);
  });

  it("marks data sent again (whole or in part) as a retransmission, across the 2^32 wrap", () => {
    const log = new PacketLog();
    const seq = 0xffff_fffe;
    log.record(7, 1, 0, true, DATA, seq, 10);
    log.record(7, 2, 200_000_000, true, DATA, seq, 10); // RTO: the same bytes
    log.record(7, 3, 200_100_000, true, DATA, (seq + 5) % 2 ** 32, 10); // half old, half new
    log.record(7, 4, 200_200_000, false, DATA, 0, 5);
    const { packets } = log.collect(7, 1, 4);
    expect(packets.map((p) => p.retransmission ?? false)).toEqual([false, true, true, false]);
  });

  it("an exchange longer than the ring lists what is left and counts the loss; past 64 packets keeps both ends", () => {
    const log = new PacketLog();
    for (let i = 1; i <= 70_000; i++) log.record(3, i, i * 1000, i % 2 === 0, DATA, i * 10, 10);
    const lost = log.collect(3, 1, 70_000);
    expect(lost.packets.length).toBe(MAX_EXCHANGE_PACKETS);
    expect(lost.omitted).toBeGreaterThan(0);
    const short = log.collect(3, 69_901, 70_000);
    expect(short.packets.length).toBe(MAX_EXCHANGE_PACKETS);
    expect(short.omitted).toBe(100 - MAX_EXCHANGE_PACKETS);
    expect(short.packets[0]!.frame).toBe(69_901);
    expect(short.packets[short.packets.length - 1]!.frame).toBe(70_000);
  });
});
