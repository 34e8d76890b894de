import { spawn, type ChildProcess } from "node:child_process";
import { BIN } from "./cli.js";

/** `mcdiag serve --port 0 --json` in its own process, as a user runs it; resolves once it listens. */
export async function startServe(args: string[] = []): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [BIN, "serve", "--port", "0", "--json", ...args], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  const until = Date.now() + 15_000;
  while (!out.includes("}")) {
    if (Date.now() > until || child.exitCode !== null) {
      child.kill("SIGKILL");
      throw new Error(`mcdiag serve did not start: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { child, port: JSON.parse(out.slice(0, out.indexOf("}") + 1)).port };
}
