// Helpers shared by the benchmarks: free ports, daemons, timed child processes.
import { spawn, execFileSync } from "node:child_process";
import net from "node:net";

export function hasCommand(name) {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port, timeoutMs = 5000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => (s.destroy(), resolve(true)));
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listening on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs a command to completion (bounded by timeoutMs); resolves with its output. */
export function run(cmd, args, timeoutMs = 120_000) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${cmd} ${args.join(" ")} exited ${code}: ${stderr.slice(0, 500)}`));
    });
  });
}

export async function startMemcached() {
  const port = await freePort();
  const args = ["-l", "127.0.0.1", "-p", String(port), "-U", "0", "-m", "256", "-t", "2"];
  if (process.getuid?.() === 0) args.push("-u", "root");
  const child = spawn("memcached", args, { stdio: "ignore" });
  await waitForPort(port);
  return { port, stop: () => child.kill("SIGTERM") };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * mcdiag's closed loop as the benches run it: coalesced gets, Nagle on,
 * `connections` pooled connections and as many callers. Resolves with the
 * JSON report, after checking that every request was recorded.
 */
export async function closedLoopProbe(bin, server, connections, seconds) {
  const probe = await run(process.execPath, [
    bin,
    "probe",
    server,
    "--write",
    "coalesced",
    "--no-nodelay",
    "--pool",
    String(connections),
    "--concurrency",
    String(connections),
    "--duration",
    `${seconds}s`,
    "--json",
  ]);
  const j = JSON.parse(probe.stdout);
  if (j.wireUs.count !== j.hits + j.misses) throw new Error("the probe did not record every request");
  return j;
}
