import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitForPort } from "./ports.js";

export interface Daemon {
  host: string;
  port: number;
  stop(): Promise<void>;
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 2000).unref();
    });
}

/** Starts a real memcached on a free loopback port (`memcached -l 127.0.0.1 -p PORT`). */
export async function startMemcached(host = "127.0.0.1"): Promise<Daemon> {
  const port = await freePort(host);
  const args = ["-l", host, "-p", String(port), "-U", "0", "-m", "64", "-t", "2"];
  if (process.getuid?.() === 0) args.push("-u", "root");
  const child = spawn("memcached", args, { stdio: "ignore" });
  await waitForPort(port, host);
  return { host, port, stop: stopper(child) };
}

/** Starts nutcracker (twemproxy) on a free port in front of `backend`. */
export async function startNutcracker(backend: Daemon): Promise<Daemon> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "mcdiag-nutcracker-"));
  const conf = join(dir, "nutcracker.yml");
  writeFileSync(
    conf,
    [
      "mcdiag:",
      `  listen: 127.0.0.1:${port}`,
      "  hash: fnv1a_64",
      "  distribution: ketama",
      "  timeout: 1000",
      "  server_connections: 1",
      "  servers:",
      `   - ${backend.host}:${backend.port}:1`,
      "",
    ].join("\n"),
  );
  const child = spawn(
    "nutcracker",
    ["-c", conf, "-o", join(dir, "nutcracker.log"), "-p", join(dir, "pid"), "-s", String(await freePort())],
    {
      stdio: "ignore",
    },
  );
  await waitForPort(port);
  return { host: "127.0.0.1", port, stop: stopper(child) };
}

/** A memcached counter (`stats`' cmd_get, cmd_set…) read every 50 ms, for tests that act once a run has reached a point. */
export interface StatWatch {
  /** The latest value read (0 before the first). */
  value(): number;
  /** The time (Date.now()) the value last changed. */
  changedAt(): number;
  stop(): void;
}

export function watchStat(d: Daemon, stat: string): StatWatch {
  let value = 0;
  let changedAt = Date.now();
  let stopped = false;
  let buf = "";
  const sock = connect(d.port, d.host);
  sock.setEncoding("utf8");
  sock.on("error", () => undefined);
  sock.on("data", (chunk: string) => {
    buf += chunk;
    const end = buf.indexOf("END\r\n");
    if (end < 0) return;
    const m = new RegExp(`^STAT ${stat} (\\d+)\\r$`, "m").exec(buf.slice(0, end));
    buf = buf.slice(end + 5);
    const v = m ? Number(m[1]) : 0;
    if (v !== value) changedAt = Date.now();
    value = v;
  });
  const timer = setInterval(() => {
    if (!stopped && sock.writable) sock.write("stats\r\n");
  }, 50);
  return {
    value: () => value,
    changedAt: () => changedAt,
    stop() {
      stopped = true;
      clearInterval(timer);
      sock.destroy();
    },
  };
}
