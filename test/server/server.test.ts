import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { EmbeddedServer, type ServerOptions } from "../../src/server/server.js";
import { eventually } from "../helpers/wait.js";

/**
 * A raw client: sends each piece only once the server has read the one
 * before (its bytesRead counter), so every piece is one read of its own
 * whatever the machine's speed; after the last, waits until `until(got)`
 * holds or the server closes the connection.
 */
async function talk(
  server: EmbeddedServer,
  port: number,
  pieces: (string | Buffer)[],
  opts: { gapMs?: number; until?: (got: string) => boolean; noDelay?: boolean } = {},
) {
  const s = net.connect({ port, host: "127.0.0.1", noDelay: opts.noDelay ?? true });
  await new Promise((r) => s.once("connect", r));
  let got = "";
  let closed = false;
  s.on("data", (d) => (got += d.toString("latin1")));
  s.on("close", () => (closed = true));
  /** After each piece was read: bytes answered so far, and commands the server had framed. */
  const arrivals: { replyBytes: number; commands: number }[] = [];
  let sent = server.counters.bytesRead;
  for (const [i, p] of pieces.entries()) {
    if (i > 0 && opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
    s.write(p);
    sent += typeof p === "string" ? Buffer.byteLength(p, "latin1") : p.length;
    await eventually(() => server.counters.bytesRead >= sent || closed, "the server reads each piece");
    arrivals.push({ replyBytes: server.counters.bytesWritten, commands: server.counters.commands });
  }
  if (opts.until) await eventually(() => opts.until!(got) || closed, "the expected reply");
  s.destroy();
  return { got, arrivals };
}

describe("EmbeddedServer", () => {
  let server: EmbeddedServer;
  afterEach(() => server?.close());
  const start = async (o: ServerOptions = {}) => {
    server = new EmbeddedServer(o);
    return (await server.listen()).port;
  };

  it("speaks the commands mcdiag and common clients use", async () => {
    const port = await start();
    const { got } = await talk(
      server,
      port,
      [
        "set a 5 0 3\r\nx\r\n\r\nget a b\r\ngets a\r\nadd a 0 0 1\r\nz\r\nreplace nope 0 0 1\r\nz\r\ndelete a\r\ndelete a\r\nversion\r\nmn\r\nbogus\r\n",
      ],
      { until: (g) => g.endsWith("ERROR\r\n") },
    );
    expect(got).toBe(
      "STORED\r\nVALUE a 5 3\r\nx\r\n\r\nEND\r\nVALUE a 5 3 1\r\nx\r\n\r\nEND\r\nNOT_STORED\r\nNOT_STORED\r\nDELETED\r\nNOT_FOUND\r\n" +
        "VERSION 1.6.18-mcdiag\r\nMN\r\nERROR\r\n",
    );
  });

  it("answers only once the whole command has arrived", async () => {
    const port = await start();
    const { got, arrivals } = await talk(server, port, ["get ", "k", "ey\r\n"], {
      until: (g) => g.endsWith("END\r\n"),
    });
    // Nothing framed, nothing answered while the command was incomplete; framed once the last piece was read.
    expect(arrivals).toEqual([
      { replyBytes: 0, commands: 0 },
      { replyBytes: 0, commands: 0 },
      { replyBytes: expect.any(Number) as number, commands: 1 },
    ]);
    expect(got).toBe("END\r\n");
  });

  it("records each command's pieces and the gaps between them", async () => {
    const port = await start({ record: true });
    await talk(server, port, ["get ", "user:42\r\n", "version\r\n"], { gapMs: 25 });
    const [get, version] = server.records;
    expect(get).toMatchObject({ verb: "get", key: "user:42", sizeBytes: 13, index: 0 });
    expect(get!.pieces.map((p) => [p.text, p.sizeBytes])).toEqual([
      ["get ", 4],
      ["user:42\\r\\n", 9],
    ]);
    expect(get!.maxGapMs).toBeGreaterThanOrEqual(20);
    expect(version).toMatchObject({ verb: "version", index: 1, maxGapMs: 0 });
    expect(version!.pieces).toHaveLength(1);
  });

  it("records binary and meta commands the same way: a request split into header and body is two pieces", async () => {
    const port = await start({ record: true });
    const get = Buffer.alloc(24 + 3);
    get[0] = 0x80;
    get[1] = 0x00; // Get
    get.writeUInt16BE(3, 2);
    get.writeUInt32BE(3, 8);
    get.write("abc", 24);
    await talk(server, port, [get.subarray(0, 24), get.subarray(24)], { gapMs: 25 });
    await talk(server, port, ["mg ", "user:7 v\r\n"], { gapMs: 25 });
    const [bin, mg] = server.records;
    expect(bin).toMatchObject({ verb: "bin:Get", key: "abc", sizeBytes: 27 });
    expect(bin!.pieces.map((p) => p.sizeBytes)).toEqual([24, 3]);
    expect(bin!.pieces[1]!.maskedText).toBe("‹key›");
    expect(bin!.maxGapMs).toBeGreaterThanOrEqual(20);
    expect(mg).toMatchObject({ verb: "mg", key: "user:7", sizeBytes: 13 });
    expect(mg!.pieces.map((p) => p.maskedText)).toEqual(["mg ", "‹key› v\\r\\n"]);
  });

  it("rejects oversized items at the command line and closes on endless lines, like memcached", async () => {
    const port = await start({ maxItemBytes: 100 });
    const big = await talk(server, port, ["set k 0 0 200\r\n" + "x".repeat(200) + "\r\nget k\r\n"], {
      until: (g) => g.endsWith("END\r\n"),
    });
    expect(big.got).toBe("SERVER_ERROR object too large for cache\r\nEND\r\n");
    const s = net.connect({ port, host: "127.0.0.1" });
    await new Promise((r) => s.once("connect", r));
    let got = "";
    s.on("data", (d) => (got += d.toString("latin1")));
    const closed = new Promise((r) => s.once("close", r));
    s.write("g".repeat(20000));
    await closed; // memcached closes a connection whose line never ends, without a reply
    expect(got).toBe("");
  });

  it("applies a fixed service delay per command, in order", async () => {
    const port = await start({ delayMs: 40 });
    const t0 = Date.now();
    const { got } = await talk(server, port, ["version\r\nmn\r\n"], { until: (g) => g.endsWith("MN\r\n") });
    expect(got).toBe("VERSION 1.6.18-mcdiag\r\nMN\r\n");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(80);
  });

  it("answers stats with the counters a probe compares before and after", async () => {
    const port = await start();
    const { got } = await talk(server, port, ["get x\r\nstats\r\n"], { until: (g) => /STAT[^]*END\r\n$/.test(g) });
    expect(got).toMatch(/STAT cmd_get 1\r\n/);
    expect(got).toMatch(/STAT get_misses 1\r\n/);
    expect(got).toMatch(/STAT curr_connections 1\r\n/);
    expect(got.endsWith("END\r\n")).toBe(true);
  });
});

describe("EmbeddedServer bounds", () => {
  let server: EmbeddedServer;
  afterEach(() => server?.close());

  it("stops reading a connection whose replies are not read, and resumes when they are", async () => {
    server = new EmbeddedServer();
    const { port } = await server.listen();
    const value = "a".repeat(1_000_000);
    await talk(server, port, [`set big 0 0 ${value.length}\r\n${value}\r\n`], { until: (g) => g === "STORED\r\n" });
    const s = net.connect({ port, host: "127.0.0.1" });
    await new Promise((r) => s.once("connect", r));
    s.pause(); // a reader that never reads
    s.write("gets big\r\n".repeat(300));
    await eventually(() => server.counters.cmdGet > 0, "the server runs the first gets");
    // Time in which a server that ignored the bound would run all 300 (the replies are not read).
    await new Promise((r) => setTimeout(r, 500));
    // Only the gets whose replies fit the pending-reply bound and the kernel buffers were run.
    expect(server.counters.cmdGet).toBeLessThan(100);
    let got = 0;
    s.on("data", (d: Buffer) => (got += d.length));
    s.resume();
    const until = Date.now() + 20_000;
    while (server.counters.cmdGet < 300 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(server.counters.cmdGet).toBe(300);
    s.destroy();
  });

  it("answers a get of many keys in bounded batches, with the same bytes as at once", async () => {
    server = new EmbeddedServer();
    const { port } = await server.listen();
    const value = "v".repeat(100_000);
    const keys = Array.from({ length: 200 }, (_, i) => (i % 3 === 0 ? "missing" : "k")).join(" ");
    const s = net.connect({ port, host: "127.0.0.1" });
    await new Promise((r) => s.once("connect", r));
    const chunks: Buffer[] = [];
    s.on("data", (d: Buffer) => chunks.push(d));
    s.write(`set k 7 0 ${value.length}\r\n${value}\r\nget ${keys}\r\ngets k\r\n`);
    const hits = 200 - Math.ceil(200 / 3);
    const want = "STORED\r\n" + `VALUE k 7 ${value.length}\r\n${value}\r\n`.repeat(hits) + "END\r\n";
    const until = Date.now() + 20_000;
    const got = () => Buffer.concat(chunks).toString("latin1");
    while (!/END\r\n$/.test(got().slice(want.length)) && Date.now() < until)
      await new Promise((r) => setTimeout(r, 20));
    expect(got().slice(0, want.length)).toBe(want); // 13 MB, more than one batch
    expect(got().slice(want.length)).toMatch(/^VALUE k 7 100000 \d+\r\nv{100000}\r\nEND\r\n$/); // the next command follows in order
    expect(server.counters.getHits).toBe(hits + 1);
    s.destroy();
  });

  it("bounds the commands held for --delay: reading stops while they are above the bound", async () => {
    server = new EmbeddedServer({ delayMs: 50 });
    const { port } = await server.listen();
    const s = net.connect({ port, host: "127.0.0.1" });
    await new Promise((r) => s.once("connect", r));
    s.pause();
    s.write("mn\r\n".repeat(20_000));
    await eventually(() => server.counters.commands >= 4096, "the server frames commands up to its bound");
    // Time in which a server without the bound would frame all 20,000 (it answers one per 50 ms).
    await new Promise((r) => setTimeout(r, 300));
    const c = server.counters;
    // Held = framed − answered ("MN\r\n" is 4 bytes): exactly at the bound, never above it.
    expect(c.commands - c.bytesWritten / 4).toBe(4096);
    expect(c.commands).toBeLessThan(20_000);
    s.destroy();
  });

  it("answers noreply commands with nothing, quit by closing, flush_all by emptying the cache", async () => {
    server = new EmbeddedServer();
    const { port } = await server.listen();
    const { got } = await talk(
      server,
      port,
      [
        "set a 0 0 1 noreply\r\nx\r\nadd a 0 0 1 noreply\r\ny\r\nincr a 1 noreply\r\ndelete b noreply\r\nget a\r\n" +
          "flush_all\r\nget a\r\nset bad 0 0 1\r\nxyz\r\nquit\r\nversion\r\n",
      ],
      { until: () => false }, // quit closes the connection
    );
    // incr on "x" fails silently under noreply; "xyz" is not a 1-byte block, and the "\r\n" after it is a line of its own.
    expect(got).toBe("VALUE a 0 1\r\nx\r\nEND\r\nOK\r\nEND\r\nCLIENT_ERROR bad data chunk\r\nERROR\r\n");
  });
});
