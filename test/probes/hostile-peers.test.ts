import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mcdiag } from "../helpers/cli.js";
import { HOSTILE_KINDS, startHostile, type HostileKind, type HostilePeer } from "../helpers/hostile.js";

/**
 * The error kinds each peer must cause, and others it may. Any peer may also
 * cause timeouts: four commands run at once on two cores, and a peer in this
 * process can answer late.
 */
const EXPECTED: Record<HostileKind, { must: string[]; may: string[] }> = {
  "never-answers": { must: ["timeout"], may: [] },
  "closes-at-once": { must: [], may: ["closed", "reset", "connect_error"] },
  resets: { must: [], may: ["reset", "closed", "connect_error"] },
  "answers-garbage": { must: ["protocol_error"], may: [] },
  "claims-1gb-then-trickles": { must: ["protocol_error"], may: [] },
  "answers-twice": { must: ["protocol_error"], may: [] },
  "streams-end": { must: ["protocol_error"], may: [] },
  "stops-reading": { must: ["timeout"], may: [] },
};

// Short runs with short timeouts: each command must end within them. The request timeout leaves
// a peer in this busy test process time to answer (it can be hundreds of ms late).
const TIMEOUT_MS = 1000;
const CONNECT_TIMEOUT_MS = 500;
/**
 * A hang is what the time bound catches: a command that waited on a silent peer would run until
 * the helper killed it. The bound is 10× the run's own time and timeouts, so that a busy
 * machine's slow Node start-up (seconds) never counts; the exit code proves it ended by itself.
 */
const ENDS_WITHIN_MS = 10 * (400 + TIMEOUT_MS + CONNECT_TIMEOUT_MS);
const COMMON = [
  "--no-seed",
  "--warmup",
  "0",
  "--timeout",
  `${TIMEOUT_MS}ms`,
  "--connect-timeout",
  `${CONNECT_TIMEOUT_MS}ms`,
  "--json",
];

/**
 * A server that resets every connection may already have reset the one the
 * probe opens before measuring: then the endpoint cannot be reached, one
 * line, exit 2. Returns true when that happened.
 */
function unreachable(kind: HostileKind, r: { code: number | null; stderr: string; stdout: string }): boolean {
  if (r.code !== 2) return false;
  expect(["resets", "closes-at-once"]).toContain(kind);
  expect(r.stderr).toMatch(/^mcdiag: cannot (connect|open pooled connections) to 127\.0\.0\.1:\d+: .*\n$/);
  expect(r.stdout).toBe("");
  return true;
}

interface Run {
  requests: number;
  hits: number;
  misses: number;
  healthy: boolean;
  errors: Record<string, number>;
  errorSamples: Record<string, string>;
}

/** `mustEach: false` (a sweep's steps): the kinds the peer must cause are checked over all runs by the caller. */
function expectCounted(kind: HostileKind, r: Run, mustEach = true): void {
  const errors = Object.values(r.errors).reduce((a, b) => a + b, 0);
  expect(r.requests, "every request is a hit, a miss or an error of some kind").toBe(r.hits + r.misses + errors);
  expect(r.healthy).toBe(false);
  const { must, may } = EXPECTED[kind];
  if (mustEach)
    for (const k of must) expect(r.errors[k], `${k} counted among ${JSON.stringify(r.errors)}`).toBeGreaterThan(0);
  if (must.length === 0) expect(errors).toBeGreaterThan(0);
  const allowed = [...must, ...may, "timeout", "acquire_timeout"];
  for (const k of Object.keys(r.errors)) expect(allowed, `unexpected ${k}: ${r.errorSamples[k]}`).toContain(k);
  if (kind === "claims-1gb-then-trickles") {
    expect(r.errorSamples.protocol_error).toMatch(/announces 1000000000 bytes, above the limit/);
  }
}

describe.concurrent.each(HOSTILE_KINDS)("against a server that %s", (kind) => {
  let peer: HostilePeer;
  beforeAll(async () => {
    peer = await startHostile(kind);
  });
  afterAll(() => peer.close());

  it(
    "probe (closed loop) ends within its timeouts with every failure counted by kind",
    async () => {
      const r = await mcdiag(["probe", peer.endpoint, "--duration", "400ms", ...COMMON], {
        timeoutMs: 2 * ENDS_WITHIN_MS,
      });
      if (unreachable(kind, r)) return;
      expect([1, 3], r.stderr).toContain(r.code);
      expect(r.ms).toBeLessThan(ENDS_WITHIN_MS);
      expectCounted(kind, JSON.parse(r.stdout) as Run);
    },
    3 * ENDS_WITHIN_MS,
  );

  it(
    "probe --rate ends within its timeouts with every failure counted by kind",
    async () => {
      const r = await mcdiag(["probe", peer.endpoint, "--rate", "200", "--duration", "400ms", ...COMMON], {
        timeoutMs: 2 * ENDS_WITHIN_MS,
      });
      if (unreachable(kind, r)) return;
      expect([1, 3], r.stderr).toContain(r.code);
      expect(r.ms).toBeLessThan(ENDS_WITHIN_MS);
      const j = JSON.parse(r.stdout) as Run & { issued: number; latencyUs: { count: number } };
      expectCounted(kind, j);
      expect(j.latencyUs.count, "the users' latency holds every finished request").toBe(j.requests);
      // The schedule stopped at its duration: 200/s for 400 ms, not more however late the run was.
      expect(j.issued).toBeLessThanOrEqual(80);
    },
    3 * ENDS_WITHIN_MS,
  );

  it(
    "compare shows failed patterns as failed and ends within its timeouts",
    async () => {
      const r = await mcdiag(["compare", peer.endpoint, "--duration", "300ms", ...COMMON], {
        timeoutMs: 8 * ENDS_WITHIN_MS,
      });
      if (unreachable(kind, r)) return;
      expect([1, 3], r.stderr).toContain(r.code);
      expect(r.ms).toBeLessThan(4 * ENDS_WITHIN_MS);
      const j = JSON.parse(r.stdout) as { runs: Run[]; verdict: string; findings: { failed: unknown[] } };
      expect(j.runs).toHaveLength(4);
      for (const run of j.runs) expectCounted(kind, run);
      // No pattern is healthy here, so the verdict must not draw conclusions from them.
      expect(j.verdict).toMatch(/^cannot be trusted: /);
      expect(j.verdict).not.toMatch(/every pattern stalls/);
    },
    9 * ENDS_WITHIN_MS,
  );

  it(
    "sweep marks the step failed or broken and ends within its timeouts",
    async () => {
      const r = await mcdiag(
        ["sweep", peer.endpoint, "--rates", "100,200", "--step-duration", "400ms", "--pause", "0", ...COMMON],
        { timeoutMs: 4 * ENDS_WITHIN_MS },
      );
      if (unreachable(kind, r)) return;
      expect([1, 3], r.stderr).toContain(r.code);
      expect(r.ms).toBeLessThan(2 * ENDS_WITHIN_MS);
      const j = JSON.parse(r.stdout) as {
        steps: { sloMet: boolean; failed: boolean; latencyUs: { p99: number } }[];
        runs: Run[];
        failedRates: number[];
      };
      // Every step is unhealthy and fully counted; the errors the peer must cause are counted in the sweep,
      // though one short step on a loaded machine may count none of them.
      for (const run of j.runs) expectCounted(kind, run, false);
      for (const k of EXPECTED[kind].must) {
        const counted = j.runs.reduce((n, run) => n + (run.errors[k] ?? 0), 0);
        expect(counted, `${k} counted in the sweep`).toBeGreaterThan(0);
      }
      for (const s of j.steps) expect(s.sloMet).toBe(false);
      if (r.code === 3) expect(j.failedRates.length).toBeGreaterThan(0);
    },
    5 * ENDS_WITHIN_MS,
  );
});

describe("seeding against a server that answers twice", () => {
  it("stops with one line naming the endpoint, exit 2", async () => {
    const peer = await startHostile("answers-twice");
    try {
      const r = await mcdiag(["probe", peer.endpoint, "--duration", "300ms", "--timeout", "200ms"], {
        timeoutMs: 15_000,
      });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^mcdiag: ${peer.endpoint} failed while seeding keys: .*\\n$`));
    } finally {
      await peer.close();
    }
  });
});
