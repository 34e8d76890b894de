import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { Connection, type WriteStrategy } from "../../src/clients/connection.js";
import { requestOnce } from "../../src/clients/request.js";
import { watchWrites } from "../../src/check/watch-writes.js";
import { getCommand, setCommand } from "../../src/protocol/commands.js";
import { EmbeddedServer } from "../../src/server/server.js";
import { FIXTURES } from "../helpers/fixtures.js";

const require = createRequire(import.meta.url);

describe("watchWrites (in-process check)", () => {
  let server: EmbeddedServer;
  let port: number;
  beforeAll(async () => {
    server = new EmbeddedServer();
    port = (await server.listen()).port;
  });
  afterAll(() => server.close());

  async function viaConnection(write: WriteStrategy) {
    const conn = await Connection.open({ host: "127.0.0.1", port, noDelay: true, write, connectTimeoutMs: 1000 });
    try {
      return await watchWrites(async () => {
        await requestOnce(conn, setCommand("w:1", "value"), 1000);
        await requestOnce(conn, getCommand("w:1"), 1000);
        await requestOnce(conn, getCommand(["w:1", "w:2"]), 1000);
      });
    } finally {
      conn.end();
    }
  }

  it("counts one write per command for coalesced and corked writes", async () => {
    for (const w of ["coalesced", "corked"] as const) {
      const r = await viaConnection(w);
      expect(
        r.commands.map((c) => `${c.command}:${c.writes}`),
        w,
      ).toEqual(["set:1", "get:1", "get:1"]);
      expect(r.writesPerCommand).toBe(1);
      expect(r.splitCommands).toEqual([]);
    }
  });

  it("counts every token write of a split client", async () => {
    const r = await viaConnection("split");
    expect(r.commands.map((c) => `${c.command}:${c.writes}`)).toEqual(["set:6", "get:3", "get:4"]);
    expect(r.splitCommands[1]!.writeSizes).toEqual([4, 3, 2]);
    expect(r.commands[0]!.key).toBeUndefined();
  });

  it("judges a real third-party client (memcached from npm) as a test would", async () => {
    const Memcached = require("memcached");
    const client = new Memcached(`127.0.0.1:${port}`, { retries: 0, poolSize: 1 });
    const call = (fn: (cb: (err: unknown, v?: unknown) => void) => void) =>
      new Promise((resolve, reject) =>
        fn((err, v) => (err ? reject(err instanceof Error ? err : new Error(JSON.stringify(err))) : resolve(v))),
      );
    const r = await watchWrites(
      async () => {
        await call((cb) => client.set("npm:1", "x", 60, cb));
        return call((cb) => client.get("npm:1", cb));
      },
      { port, showKeys: true },
    );
    client.end();
    expect(r.result).toBe("x");
    expect(r.commands.map((c) => [c.command, c.key, c.writes])).toEqual([
      ["set", "npm:1", 1],
      ["get", "npm:1", 1],
    ]);
    expect(r.writesPerCommand).toBe(1);
  });

  it("leaves sockets as they were afterwards, and refuses two watches at once", async () => {
    const net = await import("node:net");
    // eslint-disable-next-line @typescript-eslint/unbound-method -- compared by identity, never called
    const before = net.Socket.prototype._write;
    const inner = watchWrites(() => new Promise((r) => setTimeout(r, 20)));
    await expect(watchWrites(() => 1)).rejects.toThrow("another watch is running");
    await inner;
    // eslint-disable-next-line @typescript-eslint/unbound-method -- compared by identity, never called
    expect(net.Socket.prototype._write).toBe(before);
  });

  it("the runnable example in examples/ works", () => {
    const out = execFileSync(process.execPath, [`${FIXTURES}../examples/watch-writes.mjs`], { encoding: "utf8" });
    expect(out).toBe("whole: 1 write per command\nsplit: 3 writes per command (4 + 7 + 2 bytes)\n");
  });
});
