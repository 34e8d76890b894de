import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { watchPeakRss } from "../../tools/peak-rss.js";
import { BIN } from "../helpers/cli.js";
import { ACK, PSH, SYN, ip4, writePcapFile } from "./pcap-writer.js";

const dir = mkdtempSync(join(tmpdir(), "mcdiag-flows-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `mcdiag analyze FILE --json` and reads its peak RSS (VmHWM) from /proc while it runs. */
function analyzeRss(file: string): Promise<{ code: number | null; peakMb: number; json: Record<string, unknown> }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, "analyze", file, "--json"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const rss = watchPeakRss(child.pid, 10);
    child.on("exit", (code) => {
      resolve({ code, peakMb: rss.stop(), json: JSON.parse(out || "{}") as Record<string, unknown> });
    });
  });
}

// Clients spread over 10.128.0.0/9 and ports 1024…61023, all to one server.
const client = (i: number) => ip4(10, 128 + Math.floor(i / 60000 / 256), Math.floor(i / 60000) % 256, 1);
const port = (i: number) => 1024 + (i % 60000);
const SERVER = ip4(10, 0, 0, 1);

describe.runIf(process.platform === "linux")("analyze memory follows the flows open at once, within a bound", () => {
  it("500,000 open memcached flows (a get and its answer each, never closed) stay under 300 MB", async () => {
    const file = join(dir, "open.pcap");
    await writePcapFile(file, 500_000, (i) => [
      {
        tUs: i * 2,
        src: client(i),
        sport: port(i),
        dst: SERVER,
        dport: 11211,
        seq: 1000,
        ack: 5000,
        flags: ACK | PSH,
        payload: "get k\r\n",
      },
      {
        tUs: i * 2 + 1,
        src: SERVER,
        sport: 11211,
        dst: client(i),
        dport: port(i),
        seq: 5000,
        ack: 1007,
        flags: ACK | PSH,
        payload: "END\r\n",
      },
    ]);
    const r = await analyzeRss(file);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ memcachedFlows: 500_000, requests: { total: 500_000, unanswered: 0 } });
    expect(r.json.flowsEvicted).toMatchObject({ limit: 450_000 });
    expect(r.peakMb).toBeLessThan(300);
  });

  it("1,000,000 SYN-only flows (a port scan) stay bounded", async () => {
    const file = join(dir, "syn.pcap");
    await writePcapFile(file, 1_000_000, (i) => [
      { tUs: i, src: client(i), sport: port(i), dst: SERVER, dport: 11211, seq: 1000, flags: SYN },
    ]);
    const r = await analyzeRss(file);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ flows: 1_000_000, memcachedFlows: 0 });
    expect(r.peakMb).toBeLessThan(300);
  });
});
