import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Job } from "kubernetes-models/batch/v1";
import { PersistentVolumeClaim } from "kubernetes-models/v1";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { parseCommandLine } from "../../src/cli/main.js";

const MANIFEST = fileURLToPath(new URL("../../deploy/kubernetes/probe-job.yaml", import.meta.url));
/** The start time the manifest ships with, which the README's `sed` replaces before applying. */
const START_PLACEHOLDER = "2026-01-01T12:00:00Z";

// The manifest as plain objects: untyped YAML, checked field by field below.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = any;

function manifestDocs(text = readFileSync(MANIFEST, "utf8")): Doc[] {
  return parseAllDocuments(text).map((d) => d.toJS());
}

/**
 * A container's args as the kubelet hands them to the process: `$(VAR)` is
 * replaced by the variable's value from the container's environment, `$$`
 * is a literal `$`, and a reference to an unknown variable stays as written.
 */
function expandArgs(args: readonly string[], env: Readonly<Record<string, string>>): string[] {
  return args.map((a) =>
    a.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m: string, name: string | undefined) =>
      name === undefined ? "$" : (env[name] ?? m),
    ),
  );
}

/**
 * What Kubernetes' schema cannot say about a sharded probe Job: every index
 * runs, all at once, each as its own shard of the same N, never retried.
 * Returns N.
 */
function checkShardedJob(job: Doc): number {
  const spec = job.spec;
  if (spec.completionMode !== "Indexed") throw new Error(`completionMode is ${spec.completionMode}, not Indexed`);
  if (spec.completions !== spec.parallelism) {
    throw new Error(
      `completions (${spec.completions}) and parallelism (${spec.parallelism}) differ: the shards would not run together`,
    );
  }
  if (spec.template.spec.restartPolicy !== "Never") throw new Error("restartPolicy must be Never");
  if (spec.backoffLimit !== 0)
    throw new Error("backoffLimit must be 0: a retried shard starts late and adds its load twice");
  const args: string[] = job.spec.template.spec.containers[0].args;
  const shard = args[args.indexOf("--shard") + 1];
  if (shard !== `$(JOB_COMPLETION_INDEX)/${spec.completions}`) {
    throw new Error(`--shard is '${shard}', not $(JOB_COMPLETION_INDEX)/${spec.completions}`);
  }
  return spec.completions as number;
}

describe("deploy/kubernetes/probe-job.yaml", () => {
  const docs = manifestDocs();
  const pvc = docs.find((d) => d.kind === "PersistentVolumeClaim");
  const job = docs.find((d) => d.kind === "Job");

  it("validates against the Kubernetes OpenAPI schema (kubernetes-models), offline", () => {
    expect(docs.map((d) => d.kind)).toEqual(["PersistentVolumeClaim", "Job"]);
    expect(() => new PersistentVolumeClaim(pvc).validate()).not.toThrow();
    expect(() => new Job(job).validate()).not.toThrow();
    // The check is real: a misspelt enum or a string where an integer goes is refused.
    expect(() => new Job({ ...job, spec: { ...job.spec, completionMode: "Indexd" } }).validate()).toThrow(
      /completionMode must be equal to one of the allowed values/,
    );
    expect(() => new Job({ ...job, spec: { ...job.spec, completions: "4" } }).validate()).toThrow(
      /completions must be integer/,
    );
  });

  it("is an Indexed Job with completions = parallelism, each pod a shard of the same N, on a shared volume", () => {
    expect(job.spec.completionMode).toBe("Indexed");
    expect(job.spec.completions).toBe(job.spec.parallelism);
    expect(checkShardedJob(job)).toBe(4);
    const pod = job.spec.template.spec;
    expect(pod.volumes[0].persistentVolumeClaim.claimName).toBe(pvc.metadata.name);
    expect(pod.containers[0].volumeMounts[0].mountPath).toBe("/results");
    // The checks catch a manifest edited in one place only.
    expect(() => checkShardedJob({ ...job, spec: { ...job.spec, completions: 8 } })).toThrow(
      /completions \(8\) and parallelism \(4\) differ/,
    );
    expect(() => checkShardedJob({ ...job, spec: { ...job.spec, completions: 8, parallelism: 8 } })).toThrow(
      /--shard is '\$\(JOB_COMPLETION_INDEX\)\/4', not \$\(JOB_COMPLETION_INDEX\)\/8/,
    );
  });

  it("runs, in every pod, a command line that mcdiag's own parser accepts: shard k of N, one start, its own result file", async () => {
    const container = job.spec.template.spec.containers[0];
    expect(container.command).toEqual(["mcdiag"]);
    const startAt = new Date(Date.now() + 180_000).toISOString().replace(/\.\d+Z$/, "Z");
    const n = checkShardedJob(job);
    const files = new Set<string>();
    for (let k = 0; k < n; k++) {
      // The environment the kubelet builds: the container's own values, the completion index from the
      // pod's annotation, and START_AT as the README's sed leaves it.
      const env: Record<string, string> = { JOB_COMPLETION_INDEX: String(k) };
      for (const e of container.env) if (typeof e.value === "string") env[e.name] = e.value;
      expect(env.START_AT).toBe(START_PLACEHOLDER);
      env.START_AT = startAt;
      const args = expandArgs(container.args, env);
      const parsed = await parseCommandLine(args);
      const settings: Doc = parsed.settings;
      expect(parsed.command).toBe("probe");
      expect(settings.splits).toEqual([{ index: k, count: n }]);
      expect(settings.startAtMs).toBe(Date.parse(startAt));
      expect(settings.rate).toBe(200_000);
      expect(settings.endpoint).toEqual({ host: "memcached.default.svc.cluster.local", port: 11211 });
      expect(settings.slos.map((s: Doc) => s.text)).toEqual(["p99<2ms", "success>=99.9%"]);
      expect(args).toContain("--json");
      files.add(args[args.indexOf("--json-file") + 1]!);
    }
    expect([...files].sort()).toEqual([0, 1, 2, 3].map((k) => `/results/probe-${k}.json`));
  });

  it("the parser refuses what mcdiag would refuse, with mcdiag's message", async () => {
    await expect(parseCommandLine(["probe", "cache:11211", "--rate", "100", "--shard", "4/4"])).rejects.toThrow(
      /--shard: '4\/4' is not a shard/,
    );
    await expect(parseCommandLine(["probe", "cache:11211", "--rate", "1000", "--concurrency", "4"])).rejects.toThrow(
      /--concurrency does not apply to a constant-rate probe/,
    );
    await expect(parseCommandLine(["probe", "cache:11211", "--no-such-option"])).rejects.toThrow(
      /unknown option '--no-such-option'/,
    );
    await expect(
      parseCommandLine(["probe", "cache:11211", "--start-at", START_PLACEHOLDER.replace("Z", "")]),
    ).rejects.toThrow(/--start-at: .* is not a time/);
    await expect(parseCommandLine(["probe", "::1:11211"])).rejects.toThrow(/put an IPv6 address in brackets/);
    await expect(parseCommandLine(["demo"])).rejects.toThrow(/checks probe and sweep command lines/);
  });
});
