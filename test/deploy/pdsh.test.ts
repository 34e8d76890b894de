import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { JsHistogram } from "hdr-histogram-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newHistogram, percentileUs, recordClampedUs } from "../../src/metrics/histogram.js";
import { decodeHistogram } from "../../src/results/histogram-codec.js";
import { BIN } from "../helpers/cli.js";
import { startMemcached, type Daemon } from "../helpers/daemons.js";
import { freePort, waitForPort } from "../helpers/ports.js";
import { IN_CI, requireTool } from "../helpers/tools.js";

const SCRIPT = fileURLToPath(new URL("../../deploy/pdsh/probe-fleet.sh", import.meta.url));
const WORKERS = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];
const SSHD = "/usr/sbin/sshd";

/**
 * sshd needs its privilege-separation directory; root can make it. Anyone
 * else runs sshd unprivileged, which works when the directory exists.
 */
function sshdUsable(): boolean {
  if (!existsSync(SSHD)) {
    if (IN_CI)
      throw new Error("openssh-server is required in CI (the pdsh recipe test runs a real sshd); .ci/run installs it");
    console.warn("skipping: openssh-server is not installed (the pdsh recipe test runs a real sshd)");
    return false;
  }
  if (!existsSync("/run/sshd")) {
    if (process.getuid?.() === 0) mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    else if (IN_CI) throw new Error("sshd needs /run/sshd: run CI as root, or create it");
    else {
      console.warn("skipping: sshd needs /run/sshd, which only root can create here");
      return false;
    }
  }
  return true;
}

const READY =
  requireTool("memcached", "the workers probe a real memcached") &&
  requireTool("pdsh", "the recipe fans the probe out with pdsh") &&
  requireTool("dshbak", "the recipe collects each host's output with dshbak (Debian's pdsh package)") &&
  requireTool("ssh", "pdsh -R ssh runs ssh") &&
  sshdUsable();

/**
 * The pdsh recipe for real: an sshd of the test's own (throwaway host and
 * user keys, a free port, listening on 127.0.0.2–4), pdsh -R ssh addressing
 * the three loopback addresses as three hosts, each running its shard of
 * one `probe --rate` against one memcached, and `mcdiag merge` over what
 * dshbak collected.
 */
describe.runIf(READY)("deploy/pdsh/probe-fleet.sh: a sharded probe fanned out with pdsh over ssh, merged", () => {
  let mc: Daemon;
  let dir: string;
  let sshd: ChildProcess;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    mc = await startMemcached();
    dir = mkdtempSync(join(tmpdir(), "mcdiag-pdsh-"));
    for (const k of ["host", "user"]) execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, k)]);
    writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "user.pub")), { mode: 0o600 });
    const port = await freePort();
    writeFileSync(
      join(dir, "sshd_config"),
      [
        `Port ${port}`,
        ...WORKERS.map((a) => `ListenAddress ${a}`),
        `HostKey ${join(dir, "host")}`,
        `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
        `PidFile ${join(dir, "sshd.pid")}`,
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "PermitRootLogin prohibit-password",
        "",
      ].join("\n"),
    );
    writeFileSync(
      join(dir, "ssh_config"),
      [
        "Host *",
        `  Port ${port}`,
        `  User ${userInfo().username}`,
        `  IdentityFile ${join(dir, "user")}`,
        "  IdentitiesOnly yes",
        "  BatchMode yes",
        "  StrictHostKeyChecking no",
        "  UserKnownHostsFile /dev/null",
        "  LogLevel ERROR",
        "",
      ].join("\n"),
    );
    // -D: in the foreground, a child of the test, stopped in afterAll.
    sshd = spawn(SSHD, ["-D", "-f", join(dir, "sshd_config"), "-E", join(dir, "sshd.log")], { stdio: "ignore" });
    for (const a of WORKERS) await waitForPort(port, a);
    const mcdiagCmd = `${process.execPath} ${BIN}`;
    env = {
      ...process.env,
      PDSH_SSH_ARGS: `-F ${join(dir, "ssh_config")} %h`,
      MCDIAG: mcdiagCmd,
      MCDIAG_LOCAL: mcdiagCmd,
      START_DELAY_S: "8",
    };
  });

  afterAll(async () => {
    sshd?.kill("SIGTERM");
    await mc?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function runRecipe(
    out: string,
    probeArgs: string[],
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(SCRIPT, ["127.0.0.[2-4]", String(WORKERS.length), out, "--", ...probeArgs], { env });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      const limit = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`the recipe did not finish in time\n${stderr}`));
      }, 90_000);
      child.on("exit", (code) => {
        clearTimeout(limit);
        resolve({ code, stdout, stderr });
      });
    });
  }

  it("the merged count is the sum of the workers', and the merged p99 is the p99 of all their samples", async () => {
    const out = join(dir, "results");
    const endpoint = `${mc.host}:${mc.port}`;
    const r = await runRecipe(out, [endpoint, "--rate", "900", "--duration", "2s", "--slo", "p99<10s", "--json"]);
    expect(r.code, r.stderr).toBeLessThan(2);
    // dshbak wrote one file per host, named after it; each is that host's shard.
    expect(readdirSync(out).sort()).toEqual(WORKERS);
    const workers = WORKERS.map((a) => JSON.parse(readFileSync(join(out, a), "utf8")));
    expect(workers.map((w) => w.run.worker)).toEqual([0, 1, 2].map((index) => ({ index, count: 3 })));
    expect(workers.map((w) => w.requestedRate)).toEqual([300, 300, 300]);
    expect(new Set(workers.map((w) => w.run.startAtMs)).size).toBe(1);
    const merged = JSON.parse(r.stdout);
    expect(merged.kind).toBe("mcdiag.probe");
    expect(merged.endpoint).toBe(endpoint);
    expect(merged.requests).toBe(workers.reduce((a, w) => a + w.requests, 0));
    expect(merged.issued).toBe(900 * 2);
    expect(merged.slos).toEqual([{ slo: "p99<10s", value: merged.latencyUs.p99, met: true }]);
    expect(merged.workers.map((w: { file: string }) => w.file)).toEqual(WORKERS.map((a) => join(out, a)));

    // All raw samples in one histogram, built apart from `merge`: a worker's
    // histogram holds its samples exactly as recorded (each sample is a count
    // in its value's bucket, at 3 significant digits), so every bucket's
    // value is recorded again, count times, into one fresh histogram.
    const all = newHistogram();
    let maxUs = 0;
    for (const w of workers) {
      const h = decodeHistogram(w.histograms.latencyUs, "latencyUs", w.latencyUs) as JsHistogram;
      for (let i = 0; i < h.countsArrayLength; i++) {
        const n = h.getCountAtIndex(i);
        for (let k = 0; k < n; k++) recordClampedUs(all, h.valueFromIndex(i));
      }
      maxUs = Math.max(maxUs, w.latencyUs.max);
    }
    expect(all.totalCount).toBe(merged.latencyUs.count);
    expect(merged.latencyUs.p99).toBe(Math.min(percentileUs(all, 99), maxUs));
    expect(merged.latencyUs.p50).toBe(Math.min(percentileUs(all, 50), maxUs));
  });

  it("a host that does not answer leaves a result missing: the recipe says so and exits 2", async () => {
    const out = join(dir, "missing");
    const child = spawn(SCRIPT, ["127.0.0.2,127.0.0.9", "2", out, "--", `${mc.host}:${mc.port}`, "--requests", "50"], {
      env: { ...env, START_DELAY_S: "4" },
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/1 of 2 hosts returned a result/);
  });
});
