import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
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
