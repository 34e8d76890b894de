import { execFileSync } from "node:child_process";
import { readFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BIN, mcdiag } from "../helpers/cli.js";
import { SERVER_PORTS, capture, FIXTURES } from "../helpers/fixtures.js";
import { IN_CI, requireTool } from "../helpers/tools.js";

const SPLIT = join(FIXTURES, "../examples/split-client.mjs");
const PY = join(FIXTURES, "python-client.py");
const NPM_CLIENT = join(FIXTURES, "../test/clients-under-test/npm-memcached.cjs");
const canCapture = () => {
  if (!requireTool("tcpdump", "check --capture records loopback")) return false;
  if (process.getuid?.() === 0) return true;
  if (IN_CI) throw new Error("check --capture tests need root in CI");
  console.warn("skipping: check --capture needs root or CAP_NET_RAW");
  return false;
};

const json = (out: string) => JSON.parse(out);

describe("mcdiag check", () => {
  it("passes mcdiag's own probe in coalesced mode", async () => {
    const r = await mcdiag([
      "check",
      "--json",
      "--",
      process.execPath,
      BIN,
      "probe",
      "{endpoint}",
      "--write",
      "coalesced",
      "--requests",
      "50",
      "--json",
    ]);
    expect(r.code).toBe(0);
    const j = json(r.stdout);
    expect(j).toMatchObject({ verdict: "pass", method: "recording", childExitCode: 0, violations: [] });
    expect(j.commands).toBeGreaterThanOrEqual(50 + 100); // seeding sets, warm-up, measured gets
  });

  it("fails a split-writing client with Nagle on: split writes and stalls, keys masked", async () => {
    const r = await mcdiag(["check", "--json", "--", process.execPath, SPLIT]);
    expect(r.code).toBe(1);
    const j = json(r.stdout);
    expect(j.verdict).toBe("fail");
    const splits = j.violations.filter((v: { rule: string }) => v.rule === "writes-per-command");
    const stalls = j.violations.filter((v: { rule: string }) => v.rule === "stall");
    // The first get escapes the stall (quick-ack), so its pieces may reach the server in one read;
    // every later one is held ~40 ms between its pieces and cannot.
    expect(splits.length).toBeGreaterThanOrEqual(7);
    expect(stalls.length).toBeGreaterThanOrEqual(6);
    expect(splits.at(-1)).toMatchObject({
      command: "get",
      writes: 2,
      pieces: [
        { sizeBytes: 4, text: "get " },
        { sizeBytes: 8, text: "‹key›\\r\\n" },
      ],
    });
    expect(stalls[0].gapMs).toBeGreaterThanOrEqual(30);
    expect(r.stdout).not.toContain("user:");
  });

  it("shows keys with --show-keys", async () => {
    const r = await mcdiag(["check", "--show-keys", "--", process.execPath, SPLIT]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/"get " \(4\) \| "user:\d\\r\\n" \(8\)/);
    expect(r.stdout).toMatch(/writes-per-command, stall/);
  });

  it.runIf(canCapture())(
    "with --capture, fails a split client even with TCP_NODELAY, from real segment counts",
    async () => {
      const r = await mcdiag(["check", "--capture", "--json", "--", process.execPath, SPLIT, "--nodelay"], {
        timeoutMs: 30000,
      });
      expect(r.code).toBe(1);
      const j = json(r.stdout);
      expect(j.method).toBe("capture");
      expect(j.commands).toBe(8);
      expect(j.violations.map((v: { rule: string; writes: number }) => `${v.rule}:${v.writes}`)).toEqual(
        Array(8).fill("writes-per-command:3"),
      );
    },
  );

  it("says honestly when counting reads may under-count (TCP_NODELAY, no capture)", async () => {
    const r = await mcdiag(["check", "--json", "--", process.execPath, SPLIT, "--nodelay"]);
    const j = json(r.stdout);
    expect(j.method).toBe("recording");
    expect(j.notes.join(" ")).toMatch(
      /may under-count split writes; --capture counts segments exactly|not seen splitting; --capture counts segments exactly/,
    );
  });

  it("checks a Python client from the CLI: whole commands pass, split ones fail", async () => {
    const whole = await mcdiag(["check", "--", "python3", PY]);
    expect(whole.code).toBe(0);
    expect(whole.stdout).toMatch(/^PASS: 7 commands checked/);
    const split = await mcdiag(["check", "--json", "--", "python3", PY, "--split"]);
    expect(split.code).toBe(1);
    // Six split gets; the first of a connection may escape the stall and arrive in one read.
    expect(
      json(split.stdout).violations.filter((v: { rule: string }) => v.rule === "writes-per-command").length,
    ).toBeGreaterThanOrEqual(5);
  });

  describe("a third-party client from npm (memcached)", () => {
    it("passes by recording", async () => {
      const r = await mcdiag(["check", "--json", "--", process.execPath, NPM_CLIENT]);
      expect(r.code).toBe(0);
      expect(json(r.stdout)).toMatchObject({ verdict: "pass", commands: 7, childExitCode: 0 });
    });

    it.runIf(canCapture())("and a capture of the same run agrees: one segment per command", async () => {
      const r = await mcdiag(["check", "--capture", "--json", "--", process.execPath, NPM_CLIENT], {
        timeoutMs: 30000,
      });
      expect(r.code).toBe(0);
      expect(json(r.stdout)).toMatchObject({ verdict: "pass", method: "capture", commands: 7 });
    });
  });

  it("exits 2 when the command is not found", async () => {
    const r = await mcdiag(["check", "--", "no-such-client-xyz", "{endpoint}"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("mcdiag: command not found: no-such-client-xyz\n");
  });

  it("kills a command that hangs at --timeout and fails (never a pass)", async () => {
    const r = await mcdiag(
      ["check", "--timeout", "1s", "--json", "--", process.execPath, "-e", "setTimeout(() => {}, 60000)"],
      { timeoutMs: 15000 },
    );
    expect(r.code).toBe(1);
    expect(r.ms).toBeLessThan(8000);
    const rules = json(r.stdout).violations.map((v: { rule: string; message: string }) => `${v.rule}: ${v.message}`);
    expect(rules).toContain("child-exit: the command did not finish within 1000 ms and was killed");
    expect(rules).toContain(
      "min-commands: no memcached command was seen: the client never connected or never sent anything (not a pass)",
    );
  });

  it("fails a client that never connects", async () => {
    const r = await mcdiag(["check", "--", process.execPath, "-e", "0"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL: 0 commands/);
    expect(r.stdout).toMatch(/min-commands: no memcached command was seen/);
  });

  it("judges a capture file by the same rules", async () => {
    const bad = await mcdiag([
      "check",
      "--capture",
      capture("split-nagle.pcap"),
      "--port",
      String(SERVER_PORTS[0]),
      "--json",
    ]);
    expect(bad.code).toBe(1);
    const j = json(bad.stdout);
    expect(j.method).toBe("capture");
    expect(j.violations.filter((v: { rule: string }) => v.rule === "stall")).toHaveLength(21);
    const good = await mcdiag(["check", "--capture", capture("coalesced.pcap"), "--port", String(SERVER_PORTS[0])]);
    expect(good.code).toBe(0);
  });

  it("exits 2 for a capture with no memcached traffic, and for an unreadable one", async () => {
    const none = await mcdiag(["check", "--capture", capture("http-only.pcap")]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/http-only\.pcap: no memcached traffic to check \(server ports 11211; add --port\)/);
    const missing = await mcdiag(["check", "--capture", "/nope.pcap"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe("mcdiag: /nope.pcap: no such file\n");
  });

  it("writes JUnit XML and GitHub annotations", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mcdiag-junit-"));
    const file = join(dir, "check.xml");
    const r = await mcdiag(["check", "--junit", file, "--", "python3", PY, "--split"], {
      env: { GITHUB_ACTIONS: "true" },
    });
    expect(r.code).toBe(1);
    const xml = readFileSync(file, "utf8");
    expect(xml).toMatch(/<testsuites name="mcdiag check" tests="4" failures="2"/);
    expect(xml).toMatch(
      /<testcase classname="mcdiag.check" name="every command arrives in one write">\s*<failure type="writes-per-command" message="[56] violations: get arrived in 2 pieces/,
    );
    expect(xml).toMatch(/<testcase classname="mcdiag.check" name="the client command succeeded"\/>/);
    expect(r.stdout).toMatch(
      /^::error title=mcdiag check: writes-per-command::get arrived in 2 pieces \(at most 1 allowed\) \(connection 1\)$/m,
    );
  });

  it("rejects a call with neither a command nor a capture", async () => {
    const r = await mcdiag(["check"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/give the client command after --/);
  });

  describe("a client that leaves background children", () => {
    const alive = (marker: string) => {
      try {
        return execFileSync("pgrep", ["-f", marker], { encoding: "utf8" }).trim() !== "";
      } catch {
        return false; // pgrep exits 1 when nothing matches
      }
    };

    it("ends as soon as the command exits, even when an orphan holds its output pipe, and stops the orphan", async () => {
      const marker = `sleep 987.${process.pid}`;
      const r = await mcdiag(["check", "--timeout", "3s", "--json", "--", "bash", "-c", `${marker} & echo started`], {
        timeoutMs: 20_000,
      });
      expect(r.code).toBe(1); // no memcached command was seen
      expect(r.ms).toBeLessThan(10_000); // without closing the pipes it never ends (the runner kills it at 20 s)
      expect(r.stderr).toContain("started");
      const j = JSON.parse(r.stdout);
      expect(j.childExitCode).toBe(0); // it ended with the command, not at the timeout
      expect(j.violations.map((v: { rule: string }) => v.rule)).toEqual(["min-commands"]);
      await new Promise((res) => setTimeout(res, 200));
      expect(alive(marker)).toBe(false);
    });

    it("kills the whole process group at the timeout", async () => {
      const marker = `sleep 986.${process.pid}`;
      const r = await mcdiag(["check", "--timeout", "1s", "--json", "--", "bash", "-c", `${marker} & ${marker}`], {
        timeoutMs: 20_000,
      });
      expect(r.code).toBe(1);
      expect(r.ms).toBeLessThan(15_000);
      const j = JSON.parse(r.stdout);
      expect(j.violations.map((v: { message: string }) => v.message)).toContain(
        "the command did not finish within 1000 ms and was killed",
      );
      await new Promise((res) => setTimeout(res, 200));
      expect(alive(marker)).toBe(false);
    });
  });
});
