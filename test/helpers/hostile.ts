import net from "node:net";

/**
 * Misbehaving memcached servers on loopback, each one way a real server,
 * proxy or middlebox can go wrong. Every timer a peer starts dies with its
 * socket, and `close()` destroys every socket it accepted.
 */
export type HostileKind =
  | "never-answers"
  | "closes-at-once"
  | "resets"
  | "answers-garbage"
  | "claims-1gb-then-trickles"
  | "answers-twice"
  | "streams-end"
  | "stops-reading";

export const HOSTILE_KINDS: readonly HostileKind[] = [
  "never-answers",
  "closes-at-once",
  "resets",
  "answers-garbage",
  "claims-1gb-then-trickles",
  "answers-twice",
  "streams-end",
  "stops-reading",
];

export interface HostilePeer {
  host: string;
  port: number;
  endpoint: string;
  close(): Promise<void>;
}

/** The reply a sane server would give to one command line (gets of anything hit with one byte). */
function saneReply(line: string): string {
  const [verb, key] = line.split(" ");
  if (verb === "get" || verb === "gets") return `VALUE ${key} 0 1\r\nx\r\nEND\r\n`;
  if (verb === "version") return "VERSION hostile\r\n";
  if (verb === "mn") return "MN\r\n";
  if (verb === "stats") return "END\r\n";
  return "STORED\r\n";
}

/** Calls `onLine` for every complete command line (data blocks of sets are skipped by length). */
function lines(socket: net.Socket, onLine: (line: string) => void): void {
  let carry = "";
  let skip = 0;
  socket.on("data", (d: Buffer) => {
    carry += d.toString("latin1");
    for (;;) {
      if (skip > 0) {
        const n = Math.min(skip, carry.length);
        carry = carry.slice(n);
        skip -= n;
        if (skip > 0) return;
      }
      const i = carry.indexOf("\r\n");
      if (i < 0) return;
      const line = carry.slice(0, i);
      carry = carry.slice(i + 2);
      const m = /^(?:set|add|replace) \S+ \d+ \d+ (\d+)/.exec(line);
      if (m) skip = Number(m[1]) + 2;
      onLine(line);
    }
  });
}

export async function startHostile(kind: HostileKind): Promise<HostilePeer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    const timers: NodeJS.Timeout[] = [];
    s.on("close", () => timers.forEach(clearInterval));
    switch (kind) {
      case "never-answers":
        s.on("data", () => {});
        break;
      case "closes-at-once":
        s.end();
        break;
      case "resets":
        s.resetAndDestroy();
        break;
      case "answers-garbage":
        lines(s, () => s.write("HELLO, THIS IS NOT MEMCACHED\r\n"));
        break;
      case "claims-1gb-then-trickles":
        lines(s, (line) => {
          s.write(`VALUE ${line.split(" ")[1] ?? "k"} 0 1000000000\r\n`);
          timers.push(setInterval(() => s.write("x"), 20));
        });
        break;
      case "answers-twice":
        lines(s, (line) => {
          const r = saneReply(line);
          s.write(r);
          s.write(r);
        });
        break;
      case "streams-end":
        lines(s, () => {
          if (timers.length === 0) timers.push(setInterval(() => s.write("END\r\nEND\r\nEND\r\n"), 1));
        });
        break;
      case "stops-reading":
        s.pause();
        break;
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: "127.0.0.1",
    port,
    endpoint: `127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
