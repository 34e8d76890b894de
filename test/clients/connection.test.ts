import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Connection, type RequestHandler } from "../../src/clients/connection.js";
import type { ErrorKind } from "../../src/clients/errors.js";
import { getCommand } from "../../src/protocol/commands.js";

/** A server whose reply to every command is `reply(line)`, written as given (one write per string). */
async function server(reply: (line: string) => string[]): Promise<{ port: number; close: () => void }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.setNoDelay(true);
    s.on("error", () => {});
    let carry = "";
    s.on("data", (d) => {
      carry += d.toString("latin1");
      for (let i = carry.indexOf("\r\n"); i >= 0; i = carry.indexOf("\r\n")) {
        const line = carry.slice(0, i);
        carry = carry.slice(i + 2);
        for (const piece of reply(line)) s.write(piece);
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      srv.close();
    },
  };
}

type Outcome = { ok: string } | { failed: ErrorKind; message: string };

/** Sends gets one after another, each from inside the previous one's callback (as the pool does). */
function chain(conn: Connection, keys: string[]): Promise<Outcome[]> {
  return new Promise((resolve) => {
    const out: Outcome[] = [];
    let i = 0;
    const handler: RequestHandler = {
      onResponse(_c, res) {
        out.push({ ok: `${res.kind} ${res.values}` });
        next();
      },
      onFailure(_c, kind, message) {
        out.push({ failed: kind, message });
        resolve(out);
      },
    };
    const next = () => {
      if (i >= keys.length) return resolve(out);
      conn.send(getCommand(keys[i++]!), handler, 1000, performance.now());
    };
    next();
  });
}

describe("Connection pairs a reply only with a request on the wire", () => {
  let close: (() => void) | undefined;
  afterEach(() => close?.());

  const open = async (reply: (line: string) => string[], onStray?: (m: string) => void) => {
    const s = await server(reply);
    close = s.close;
    return Connection.open({
      host: "127.0.0.1",
      port: s.port,
      noDelay: true,
      write: "coalesced",
      connectTimeoutMs: 1000,
      onStrayReply: (_c, m) => onStray?.(m),
    });
  };

  it("a duplicate read with the answer fails the next request as a protocol error, never as its answer", async () => {
    // Both copies of a miss in one write: the second is read before the next
    // get leaves, and a miss names no key, so only the byte offsets can tell.
    const conn = await open(() => ["END\r\nEND\r\n"]);
    const out = await chain(conn, ["a", "b", "c"]);
    expect(out).toEqual([
      { ok: "values 0" },
      {
        failed: "protocol_error",
        message: "a 'values' reply began before the get was written (the server answered something twice)",
      },
    ]);
    expect(conn.closed).toBe(true);
  });

  it("a late duplicate of another key is refused by the key it names", async () => {
    // Answers every get with the reply meant for a: right for the first, stale for the next.
    const conn = await open(() => [`VALUE a 0 1\r\nx\r\nEND\r\n`]);
    const out = await chain(conn, ["a", "b"]);
    expect(out[0]).toEqual({ ok: "values 1" });
    expect(out[1]).toEqual({ failed: "protocol_error", message: "VALUE for key 'a' in reply to a get of 'b'" });
  });

  it("a reply with nothing in flight is reported as stray and closes the connection", async () => {
    const strays: string[] = [];
    const conn = await open(
      () => ["END\r\n", "END\r\n"],
      (m) => strays.push(m),
    );
    const out = await new Promise<Outcome[]>((resolve) => {
      conn.send(
        getCommand("k"),
        {
          onResponse: (_c, res) => setTimeout(() => resolve([{ ok: `${res.kind} ${res.values}` }]), 100),
          onFailure: (_c, kind, message) => resolve([{ failed: kind, message }]),
        },
        1000,
        performance.now(),
      );
    });
    expect(out).toEqual([{ ok: "values 0" }]);
    expect(strays).toEqual(["a 'values' reply arrived with no request in flight"]);
    expect(conn.closed).toBe(true);
  });
});
