import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServe } from "../helpers/serve.js";

/**
 * Hostile clients against `mcdiag serve` in its own process: the server
 * stays up, answers others, and keeps its resident memory (RSS, which
 * counts Buffers, unlike a heap limit) bounded.
 */
const RSS_LIMIT_KB = 300 * 1024;

function peakRssKb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? 0);
}

async function connect(port: number): Promise<net.Socket> {
  const s = net.connect({ host: "127.0.0.1", port, noDelay: true });
  s.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    s.once("connect", () => resolve());
    s.once("error", reject);
  });
  return s;
}

/** Sends `bytes`, collects what arrives until `done` says so (or 5 s), returns it and whether the server closed. */
async function exchange(port: number, bytes: string | Buffer, done: (got: string) => boolean, waitMs = 5000) {
  const s = await connect(port);
  let got = "";
  let closed = false;
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, waitMs);
    s.on("data", (d: Buffer) => {
      got += d.toString("latin1");
      if (done(got)) {
        clearTimeout(t);
        resolve();
      }
    });
    s.on("close", () => {
      closed = true;
      clearTimeout(t);
      resolve();
    });
    s.write(bytes);
  });
  s.destroy();
  return { got, closed };
}

describe("hostile clients against mcdiag serve", () => {
  let child: ChildProcess;
  let port = 0;
  const others = async (waitMs = 5000) => (await exchange(port, "version\r\n", (g) => g.endsWith("\r\n"), waitMs)).got;
  /** The server's cmd_get, from its own `stats`. */
  const cmdGet = async () => {
    const { got } = await exchange(port, "stats\r\n", (g) => g.endsWith("END\r\n"));
    return Number(/STAT cmd_get (\d+)\r\n/.exec(got)?.[1] ?? NaN);
  };

  beforeAll(async () => {
    ({ child, port } = await startServe());
  });
  afterAll(() => {
    child?.kill("SIGKILL");
  });

  it("an absurd set length is refused at once, and the connection stays usable", async () => {
    const r = await exchange(port, "set k 0 0 999999999999999\r\nversion\r\n", (g) => g.includes("VERSION"));
    expect(r.got).toBe("CLIENT_ERROR bad command line format\r\nVERSION 1.6.18-mcdiag\r\n");
    // A length that parses but is above the item limit: refused at the line, the data discarded unread.
    const s = await connect(port);
    let got = "";
    s.on("data", (d: Buffer) => (got += d.toString("latin1")));
    s.write("set k 0 0 2147483000\r\n");
    const until = Date.now() + 5000;
    while (!got.includes("\r\n") && Date.now() < until) await new Promise((res) => setTimeout(res, 10));
    expect(got).toBe("SERVER_ERROR object too large for cache\r\n"); // before any data was sent
    const chunk = Buffer.alloc(1 << 20, 0x78);
    for (let i = 0; i < 64; i++) if (!s.write(chunk)) await new Promise((res) => s.once("drain", res));
    expect(await others()).toBe("VERSION 1.6.18-mcdiag\r\n");
    s.destroy();
    expect(peakRssKb(child.pid!)).toBeLessThan(RSS_LIMIT_KB);
  });

  it("an oversized key gets memcached's answer", async () => {
    const key = "k".repeat(300);
    const r = await exchange(
      port,
      `get ${key}\r\nset ${key} 0 0 1\r\nx\r\n`,
      (g) => g.endsWith("ERROR\r\n") && g.split("\r\n").length > 3,
    );
    expect(r.got).toBe("CLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\nERROR\r\n");
  });

  it("a 10 MB line without an end closes that connection only", async () => {
    const r = await exchange(port, Buffer.alloc(10 * 1024 * 1024, 0x61), () => false);
    expect(r.closed).toBe(true);
    expect(r.got).toBe("");
    expect(await others()).toBe("VERSION 1.6.18-mcdiag\r\n");
    expect(peakRssKb(child.pid!)).toBeLessThan(RSS_LIMIT_KB);
  });

  it("1,500 unread 1 MB gets: the server stops reading, answers others, stays under 300 MB RSS", async () => {
    const value = Buffer.alloc(1_000_000, 0x61);
    const set = await exchange(
      port,
      Buffer.concat([Buffer.from(`set big 0 0 ${value.length}\r\n`), value, Buffer.from("\r\n")]),
      (g) => g.includes("\r\n"),
    );
    expect(set.got).toBe("STORED\r\n");
    const before = await cmdGet();
    const reader = await connect(port);
    reader.pause(); // never reads
    reader.write("gets big\r\n".repeat(1500));
    // Time in which a server without the bound would run all 1,500 gets and hold 1.5 GB of replies.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await others()).toBe("VERSION 1.6.18-mcdiag\r\n");
    // It stopped reading: only the gets whose replies fit the bound and the socket buffers ran.
    const ran = (await cmdGet()) - before;
    expect(ran).toBeGreaterThan(0);
    expect(ran).toBeLessThan(100);
    expect(peakRssKb(child.pid!)).toBeLessThan(RSS_LIMIT_KB);
    reader.destroy();
  });

  it("a get of 500,000 keys of a 1 MB value, never read: answered in batches, memory stays bounded", async () => {
    const value = Buffer.alloc(1_000_000, 0x62);
    const set = await exchange(
      port,
      Buffer.concat([Buffer.from(`set m 0 0 ${value.length}\r\n`), value, Buffer.from("\r\n")]),
      (g) => g.includes("\r\n"),
    );
    expect(set.got).toBe("STORED\r\n");
    const readers: net.Socket[] = [];
    // Answered whole, each of these replies would hold ~40 MB of pieces: 8 of them pass the bound.
    for (let i = 0; i < 8; i++) {
      const r = await connect(port);
      r.pause(); // never reads
      r.write("get" + " m".repeat(500_000) + "\r\n"); // a 1 MB line: within the multi-get limit
      readers.push(r);
    }
    // The server is single-threaded: its answer to another client comes after it has run all eight gets.
    expect(await others(30_000)).toBe("VERSION 1.6.18-mcdiag\r\n");
    expect(peakRssKb(child.pid!)).toBeLessThan(RSS_LIMIT_KB);
    for (const r of readers) r.destroy();
  });

  it("thousands of idle connections: others are still answered, memory stays bounded", async () => {
    const idle: net.Socket[] = [];
    try {
      for (let i = 0; i < 2000; i++) idle.push(await connect(port));
      expect(await others()).toBe("VERSION 1.6.18-mcdiag\r\n");
      expect(peakRssKb(child.pid!)).toBeLessThan(RSS_LIMIT_KB);
    } finally {
      for (const s of idle) s.destroy();
    }
  });

  it("a binary request announcing a 4 GB value is refused at once", async () => {
    const h = Buffer.alloc(24 + 8 + 1);
    h[0] = 0x80;
    h[1] = 0x01; // Set
    h.writeUInt16BE(1, 2);
    h[4] = 8;
    h.writeUInt32BE(0xffffffff, 8);
    h.write("k", 32);
    const r = await exchange(port, h, (g) => g.length >= 24 + 10);
    const got = Buffer.from(r.got, "latin1");
    expect(got[0]).toBe(0x81);
    expect(got.readUInt16BE(6)).toBe(0x03); // E2BIG
    expect(got.subarray(24).toString()).toBe("Too large.");
  });
});
