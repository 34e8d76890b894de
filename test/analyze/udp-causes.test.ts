import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ANALYZE_DEFAULTS, analyzeCapture } from "../../src/analyze/analyzer.js";
import { CLIENT, SERVER, pcapOf, type Segment } from "./pcap-writer.js";

const dir = mkdtempSync(join(tmpdir(), "mcdiag-udp-causes-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A memcached UDP datagram: the 8-byte frame header (request id, sequence, datagram count), then the text. */
function udp(tUs: number, fromClient: boolean, id: number, seq: number, total: number, text: string): Segment {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(seq, 2);
  h.writeUInt16BE(total, 4);
  const payload = Buffer.concat([h, Buffer.from(text, "latin1")]);
  return fromClient
    ? { tUs, src: CLIENT, sport: 40000, dst: SERVER, dport: 11211, proto: 17, payload }
    : { tUs, src: SERVER, sport: 11211, dst: CLIENT, dport: 40000, proto: 17, payload };
}

describe("causes over UDP", () => {
  it("a reply that comes late from the server is the server's, timed to its first datagram", async () => {
    const segs = [
      udp(1_000, true, 1, 0, 1, "get a\r\n"),
      udp(1_100, false, 1, 0, 1, "END\r\n"), // fast
      udp(10_000, true, 2, 0, 1, "get b\r\n"),
      udp(45_000, false, 2, 0, 2, "VALUE b 0 1\r\n"), // 35 ms of server time
      udp(45_050, false, 2, 1, 2, "x\r\nEND\r\n"),
    ];
    const file = join(dir, "slow-server.pcap");
    writeFileSync(file, pcapOf(segs));
    const r = await analyzeCapture({ ...ANALYZE_DEFAULTS, input: file, ports: [11211] });
    expect(r.udpFlows).toBe(1);
    expect(r.slowRequests).toBe(1);
    expect(r.causes).toHaveLength(1);
    expect(r.causes[0]).toMatchObject({ cause: "server", requests: 1 });
    expect(r.causes[0]!.totalMs).toBeCloseTo(35, 0);
  });
});
