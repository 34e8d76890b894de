import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { mcdiag } from "../helpers/cli.js";
import { capture } from "../helpers/fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "mcdiag-report-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("mcdiag report", () => {
  it("prints the report the command printed, from its saved --json", async () => {
    const file = capture("split-nagle.pcapng");
    const text = await mcdiag(["analyze", file, "--port", "33631"]);
    const json = await mcdiag(["analyze", file, "--port", "33631", "--json"]);
    writeFileSync(join(dir, "a.json"), json.stdout);
    const again = await mcdiag(["report", join(dir, "a.json")]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(text.stdout);
  });

  it("reads the JSON from stdin with -", async () => {
    const json = await mcdiag(["analyze", capture("split-nagle.pcapng"), "--json"]);
    const r = await mcdiag(["report", "-", "--html", join(dir, "stdin.html")], { input: json.stdout });
    expect(r.code, r.stderr).toBe(0);
  });

  it.each([
    ["a missing file", ["report", join(dir, "missing.json")], /missing\.json: no such file/],
    ["a file that is not JSON", ["report", capture("split-nagle.pcapng")], /split-nagle\.pcapng: not valid JSON/],
  ])("refuses %s with one line naming it, exit 2", async (_what, args, message) => {
    const r = await mcdiag(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("refuses JSON that no mcdiag command printed, and an --html path it cannot write, exit 2", async () => {
    writeFileSync(join(dir, "other.json"), '{"hello": 1}');
    const r = await mcdiag(["report", join(dir, "other.json")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/other\.json: not an mcdiag result \(no "kind"/);
    const w = await mcdiag(["report", join(dir, "other.json"), "--html", join(dir, "no/such/dir/a.html")]);
    expect(w.code).toBe(2);
    expect(w.stderr).toMatch(/--html: cannot write .*a\.html: the folder .* does not exist/);
  });

  it("reads the envelope: a newer version, a result cut to its envelope, a histogram that does not decode are one line naming the file, exit 2", async () => {
    const json = await mcdiag(["probe", "--embedded", "--requests", "200", "--json"]);
    expect(json.code, json.stderr).toBe(0);
    const doc = JSON.parse(json.stdout) as Record<string, unknown> & { histograms: Record<string, string> };
    expect(doc.kind).toBe("mcdiag.probe");
    const cases: [string, object, RegExp][] = [
      ["newer.json", { ...doc, version: 99 }, /newer\.json: mcdiag\.probe version 99 is newer than this mcdiag reads/],
      ["bare.json", { kind: "mcdiag.probe", version: 1 }, /bare\.json: endpoint is missing/],
      [
        "hist.json",
        { ...doc, histograms: { ...doc.histograms, wireUs: "AAAA" } },
        /hist\.json\b.*wireUs: the histogram does not decode/,
      ],
    ];
    for (const [name, body, message] of cases) {
      writeFileSync(join(dir, name), JSON.stringify(body));
      for (const args of [[], ["--html", join(dir, `${name}.html`)]]) {
        const r = await mcdiag(["report", join(dir, name), ...args]);
        expect(r.code, name).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
      }
    }
  });

  it("a bad --html path fails a run before it starts", async () => {
    const r = await mcdiag(["probe", "--embedded", "--duration", "10s", "--html", join(dir, "nope/x.html")]);
    expect(r.code).toBe(2);
    expect(r.ms).toBeLessThan(5000);
    expect(r.stderr).toMatch(/--html: cannot write/);
  });
});
