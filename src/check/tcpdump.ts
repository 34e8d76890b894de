import { spawn, type ChildProcess } from "node:child_process";
import { McdiagError } from "../util/errors.js";

/**
 * A loopback capture with tcpdump for `check --capture`. libpcap hands
 * packets over one ring block at a time, so stopping waits a while after
 * the traffic before SIGINT, or the last packets are lost.
 */
export class LoopbackCapture {
  private constructor(
    private readonly proc: ChildProcess,
    readonly file: string,
  ) {}

  static async start(file: string, port: number, iface = "lo"): Promise<LoopbackCapture> {
    const proc = spawn("tcpdump", ["-i", iface, "-s", "0", "-U", "-w", file, `tcp port ${port}`], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    await new Promise<void>((resolve, reject) => {
      const fail = (why: string) =>
        reject(new McdiagError("BAD_OPTION", `--capture needs tcpdump with root or CAP_NET_RAW: ${why}`));
      const timer = setTimeout(() => fail("tcpdump did not start listening within 5 s"), 5000);
      proc.once("error", (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        fail(err.code === "ENOENT" ? "tcpdump is not installed" : String(err.code));
      });
      proc.stderr.on("data", (d) => {
        stderr += d;
        if (/listening on/.test(stderr)) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once("exit", (code) => {
        clearTimeout(timer);
        fail(stderr.trim().split("\n").pop() || `tcpdump exited ${code}`);
      });
    });
    return new LoopbackCapture(proc, file);
  }

  async stop(settleMs = 2500): Promise<void> {
    await new Promise((r) => setTimeout(r, settleMs));
    const exited = new Promise((r) => this.proc.once("exit", r));
    this.proc.kill("SIGINT");
    await exited;
  }
}
