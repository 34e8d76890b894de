import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { BIN, mcdiag } from "../helpers/cli.js";

describe("mcdiag serve", () => {
  it("serves on a free port, answers a probe, and stops on SIGINT with its counters", async () => {
    const child = spawn(process.execPath, [BIN, "serve", "--port", "0", "--json"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const killer = setTimeout(() => child.kill("SIGKILL"), 20000);
    try {
      while (!out.includes("}")) await new Promise((r) => setTimeout(r, 20));
      const ep = JSON.parse(out.slice(0, out.indexOf("}") + 1));
      expect(ep.host).toBe("127.0.0.1");
      const r = await mcdiag(["probe", `${ep.host}:${ep.port}`, "--requests", "100", "--keys", "10", "--json"]);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).hits).toBe(100);
      const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
      child.kill("SIGINT");
      expect(await exited).toBe(0);
      const counters = JSON.parse(out.slice(out.indexOf("}") + 1));
      expect(counters.cmdGet).toBeGreaterThanOrEqual(100);
      expect(counters.cmdSet).toBe(10);
    } finally {
      clearTimeout(killer);
      child.kill("SIGKILL");
    }
  });

  it("exits 2 with a one-line message when the port is taken", async () => {
    const first = spawn(process.execPath, [BIN, "serve", "--port", "0", "--json"], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    let out = "";
    first.stdout.on("data", (d) => (out += d));
    try {
      while (!out.includes("}")) await new Promise((r) => setTimeout(r, 20));
      const { port } = JSON.parse(out);
      const r = await mcdiag(["serve", "--port", String(port)]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`mcdiag: cannot listen on 127.0.0.1:${port}: EADDRINUSE\n`);
    } finally {
      first.kill("SIGKILL");
    }
  });

  it("refuses bad --delay, --port and size values in one line, exit 2", async () => {
    const cases: [string[], string][] = [
      [["--delay", "600h"], "mcdiag: --delay: '600h' is longer than the limit of 24h\n"],
      [["--delay", "-1"], "mcdiag: --delay: '-1' is not a duration (e.g. 500ms, 5s, 2m)\n"],
      [["--port", "70000"], "mcdiag: --port: '70000' is not valid (want a whole number from 0 to 65535)\n"],
      [
        ["--max-item-size", "1e9"],
        "mcdiag: --max-item-size: '1e9' is not valid (want a whole number from 1024 to 134217728)\n",
      ],
    ];
    for (const [args, err] of cases) {
      const r = await mcdiag(["serve", ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(err);
    }
  });
});
