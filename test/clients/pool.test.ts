import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { Connection } from "../../src/clients/connection.js";
import type { ErrorKind } from "../../src/clients/errors.js";
import { Pool, type Checkout, type PoolOptions } from "../../src/clients/pool.js";
import { EmbeddedServer, type ServerOptions } from "../../src/server/server.js";
import { eventually } from "../helpers/wait.js";

/** A checkout that records what happened to it. */
function checkout(name: string, log: string[]): Checkout & { conn?: Connection; error?: ErrorKind; message?: string } {
  const w: Checkout & { conn?: Connection; error?: ErrorKind; message?: string } = {
    askedMs: 0,
    gotMs: 0,
    freedMs: 0,
    hcSentMs: 0,
    hcDoneMs: 0,
    acquireDeadlineMs: 0,
    onConnection(conn) {
      w.conn = conn;
      log.push(`${name} got ${conn.id}`);
    },
    onCheckoutError(kind, message) {
      w.error = kind;
      w.message = message;
      log.push(`${name} ${kind}`);
    },
  };
  return w;
}

const until = (cond: () => boolean) => eventually(cond, "the pool's callback");

/** A small pool on 127.0.0.1:port, timeouts of 1 s, as most tests want it. */
function poolAt(port: number, opts: Partial<PoolOptions> = {}): Pool {
  return new Pool({
    host: "127.0.0.1",
    port,
    size: 2,
    noDelay: true,
    write: "coalesced",
    healthCheck: "none",
    connectTimeoutMs: 1000,
    acquireTimeoutMs: 1000,
    requestTimeoutMs: 1000,
    ...opts,
  });
}

describe("Pool", () => {
  let server: EmbeddedServer | undefined;
  let pool: Pool | undefined;
  afterEach(async () => {
    pool?.close();
    await server?.close();
    pool = undefined;
    server = undefined;
  });

  async function setup(serverOpts: ServerOptions, poolOpts: Partial<PoolOptions>): Promise<Pool> {
    server = new EmbeddedServer(serverOpts);
    const ep = await server.listen();
    pool = poolAt(ep.port, { host: ep.host, ...poolOpts });
    return pool;
  }

  it("never opens more than its size and serves waiters first in, first out", async () => {
    const p = await setup({}, {});
    const log: string[] = [];
    const ws = ["a", "b", "c", "d", "e"].map((n) => checkout(n, log));
    for (const w of ws) p.acquire(w);
    await until(() => log.length >= 2);
    expect(p.stats()).toEqual({ size: 2, busy: 2, idle: 0, waiting: 3, connecting: 0 });
    p.release(ws[0]!.conn!);
    p.release(ws[1]!.conn!);
    await until(() => log.length >= 4);
    expect(log.slice(2).map((l) => l.split(" ")[0])).toEqual(["c", "d"]);
    expect(p.stats().waiting).toBe(1);
    p.release(ws[2]!.conn!);
    await until(() => log.length >= 5);
    expect(log[4]!.startsWith("e got")).toBe(true);
    // Five checkouts, two connections: the pool's own objects, with no wait on the server's side.
    expect(new Set(ws.map((w) => w.conn!.id)).size).toBe(2);
    expect(p.stats()).toEqual({ size: 2, busy: 2, idle: 0, waiting: 0, connecting: 0 });
    // The server agrees once its accepts have run (they may come after the client's connect events).
    await until(() => server!.counters.totalConnections >= 2);
    expect(server!.counters.totalConnections).toBe(2);
  });

  it("times out a waiter that never gets a connection", async () => {
    const p = await setup({}, { size: 1, acquireTimeoutMs: 100 });
    const log: string[] = [];
    const a = checkout("a", log);
    const b = checkout("b", log);
    p.acquire(a);
    p.acquire(b);
    await until(() => b.error !== undefined);
    expect(b.error).toBe("acquire_timeout");
    expect(b.message).toBe("no free connection within 100 ms");
    expect(p.stats().waiting).toBe(0);
  });

  it("runs the health check on every checkout and times it", async () => {
    const p = await setup({}, { healthCheck: "version" });
    const log: string[] = [];
    const a = checkout("a", log);
    p.acquire(a);
    await until(() => a.conn !== undefined);
    expect(a.hcSentMs).toBeGreaterThan(0);
    expect(a.hcDoneMs).toBeGreaterThan(a.hcSentMs);
    p.release(a.conn!);
    p.acquire(a);
    await until(() => log.length === 2);
    expect(server!.counters.commands).toBe(2);
  });

  it("drops a connection reset during its health check and opens a new one on the next demand", async () => {
    const p = await setup({ resetAfterCommands: 1 }, { healthCheck: "mn" });
    const log: string[] = [];
    const a = checkout("a", log);
    p.acquire(a);
    await until(() => a.error !== undefined);
    expect(a.error).toBe("reset");
    expect(a.message).toMatch(/reset the connection on health check 'mn'/);
    expect(p.stats()).toMatchObject({ busy: 0, idle: 0 });
    const b = checkout("b", log);
    p.acquire(b);
    await until(() => b.error !== undefined);
    expect(server!.counters.totalConnections).toBe(2);
  });

  it("fails a checkout whose health check is answered with ERROR, naming the check", async () => {
    // A hostile server that knows no command at all.
    const hostile = net.createServer((s) => s.on("data", () => s.write("ERROR\r\n")));
    await new Promise<void>((r) => hostile.listen(0, "127.0.0.1", r));
    const port = (hostile.address() as net.AddressInfo).port;
    pool = poolAt(port, { size: 1, healthCheck: "version" });
    const log: string[] = [];
    const a = checkout("a", log);
    pool.acquire(a);
    await until(() => a.error !== undefined);
    expect(a.error).toBe("healthcheck_failed");
    expect(a.message).toBe("health check 'version' answered ERROR (unknown command)");
    expect(pool.stats()).toMatchObject({ busy: 0, idle: 0 });
    pool.close();
    hostile.close();
  });

  it("fails a waiter with the connect error when no connection can be opened, and keeps no slot for it", async () => {
    // A port that was free a moment ago: nothing listens, the kernel refuses.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    pool = poolAt(port);
    const log: string[] = [];
    const a = checkout("a", log);
    pool.acquire(a);
    await until(() => a.error !== undefined);
    expect(a.error).toBe("connect_refused");
    expect(a.message).toBe("ECONNREFUSED");
    expect(pool.stats()).toEqual({ size: 2, busy: 0, idle: 0, waiting: 0, connecting: 0 });
    await expect(pool.prefill(1)).rejects.toMatchObject({ kind: "connect_refused" });
    expect(pool.stats().connecting).toBe(0);
  });

  it("replaces a connection the server closed while it was idle", async () => {
    const p = await setup({}, {});
    const log: string[] = [];
    const a = checkout("a", log);
    p.acquire(a);
    await until(() => a.conn !== undefined);
    const first = a.conn!;
    p.release(first);
    await server!.close(); // drops every connection…
    server = new EmbeddedServer({ port: first.options.port });
    await server.listen(); // …and listens again on the same port
    await until(() => first.closed);
    a.conn = undefined;
    p.acquire(a);
    await until(() => a.conn !== undefined);
    expect(a.conn!.id).not.toBe(first.id);
  });
});
