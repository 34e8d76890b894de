import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { node } from "./helpers/cli.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");

interface LockEntry {
  dev?: boolean;
  devOptional?: boolean;
  [field: string]: unknown;
}

/**
 * mcdiag as another package sees it: `npm pack`, the tarball installed into a
 * scratch project in a temporary folder, a TypeScript file there importing
 * `{ probe, analyze }` from "mcdiag" type-checked against the published
 * declarations and run, and an example run unchanged.
 *
 * The install needs no network: the scratch project's lockfile pins the
 * runtime dependencies exactly as this project's lockfile does, so `npm ci`
 * takes them from the npm cache that installing this project filled.
 */
describe("the packed package", () => {
  const dir = mkdtempSync(join(tmpdir(), "mcdiag-pack-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("installs from its tarball, type-checks and runs in another project", { timeout: 300_000 }, async () => {
    // `prepare` compiles dist/ first, as it would for a publish.
    const packed = await run("npm", ["pack", "--pack-destination", dir, "--json"], { cwd: ROOT });
    const { filename, files } = (JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[])[0]!;
    const paths = files.map((f) => f.path);
    expect(paths).toContain("dist/index.js");
    expect(paths).toContain("dist/index.d.ts");
    expect(paths).toContain("bin/mcdiag.js");
    expect(paths.filter((p) => p.startsWith("src/") || p.startsWith("test/"))).toEqual([]);

    const ownPkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      version: string;
      dependencies: Record<string, string>;
      bin: Record<string, string>;
      engines: Record<string, string>;
    };
    const ownLock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
      packages: Record<string, LockEntry>;
    };
    const tarball = `file:${filename}`;
    const integrity =
      "sha512-" +
      createHash("sha512")
        .update(readFileSync(join(dir, filename)))
        .digest("base64");
    const packages: Record<string, unknown> = {
      "": { name: "scratch", version: "1.0.0", dependencies: { mcdiag: tarball } },
      "node_modules/mcdiag": {
        version: ownPkg.version,
        resolved: tarball,
        integrity,
        dependencies: ownPkg.dependencies,
        bin: ownPkg.bin,
        engines: ownPkg.engines,
      },
    };
    for (const [path, entry] of Object.entries(ownLock.packages)) {
      if (path.startsWith("node_modules/") && !entry.dev && !entry.devOptional) packages[path] = entry;
    }
    const json = (file: string, value: unknown) => writeFileSync(join(dir, file), JSON.stringify(value, null, 2));
    json("package.json", {
      name: "scratch",
      version: "1.0.0",
      private: true,
      type: "module",
      dependencies: { mcdiag: tarball },
    });
    json("package-lock.json", { name: "scratch", version: "1.0.0", lockfileVersion: 3, requires: true, packages });
    await run("npm", ["ci", "--prefer-offline", "--no-audit", "--no-fund"], { cwd: dir });

    // The published declarations, checked whole (skipLibCheck off), and a user's file.
    json("tsconfig.json", {
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        skipLibCheck: false,
        types: ["node"],
        typeRoots: [join(ROOT, "node_modules", "@types")],
        allowJs: true,
        checkJs: true,
        outDir: "out",
      },
      files: ["use.ts", "probe.mjs"],
    });
    writeFileSync(
      join(dir, "use.ts"),
      `import { analyze, probe, EmbeddedServer, ANALYZE_DEFAULTS, PROBE_DEFAULTS } from "mcdiag";
import type { AnalysisResult, ProbeResult } from "mcdiag";

const server = new EmbeddedServer();
const { host, port } = await server.listen();
const r: ProbeResult = await probe({ ...PROBE_DEFAULTS, host, port, requests: 30 });
await server.close();
const a: AnalysisResult = await analyze({ ...ANALYZE_DEFAULTS, input: process.argv[2]! });
console.log(JSON.stringify({ answered: r.hits + r.misses, requests: a.requests.total, stalls: a.stalls.request }));
`,
    );
    copyFileSync(join(ROOT, "examples", "probe.mjs"), join(dir, "probe.mjs"));
    await run(process.execPath, [TSC, "-p", dir], { cwd: dir });

    const used = await node([join(dir, "out", "use.js"), join(ROOT, "fixtures", "captures", "split-nagle.pcap")], {
      cwd: dir,
      timeoutMs: 60_000,
    });
    expect(used.stderr).toBe("");
    expect(JSON.parse(used.stdout)).toEqual({ answered: 30, requests: 27, stalls: 21 });

    const example = await node([join(dir, "probe.mjs")], { cwd: dir, timeoutMs: 60_000 });
    expect(example.stderr).toBe("");
    expect(example.code).toBe(0);
    expect(example.stdout).toMatch(/40 requests, wire p50 [\d.]+ ms, \d+ % stalled/);

    // The installed command works too.
    const help = await node([join(dir, "node_modules", "mcdiag", "bin", "mcdiag.js"), "probe", "--help"], {
      cwd: dir,
    });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: mcdiag probe");
  });
});
