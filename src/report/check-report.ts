import { arrivalUnit, type CheckMethod } from "../check/observation.js";
import type { CheckResult, Violation } from "../check/rules.js";
import { newTable } from "./table.js";

const ADVICE =
  "write each command in one write (a buffered writer, one Buffer, or cork/uncork) — or at least set TCP_NODELAY";

export function renderCheck(r: CheckResult, opts: { showKeys: boolean }): string {
  const out: string[] = [];
  const how = r.method === "capture" ? "segments in a loopback capture" : "reads by the recording server";
  out.push(
    `${r.verdict === "pass" ? "PASS" : "FAIL"}: ${r.commands} commands checked by ${how}` +
      (r.endpoint ? ` (server ${r.endpoint}${r.upstream ? `, relaying to memcached at ${r.upstream}` : ""})` : "") +
      (r.childExitCode !== null ? `, command exited ${r.childExitCode}` : "") +
      (r.violations.length > 0 ? `; ${r.violations.length} violations` : ""),
  );
  // One row per command, naming every rule it broke.
  const byCommand = new Map<number, Violation[]>();
  for (const v of r.violations) {
    if (v.index === undefined) continue;
    const list = byCommand.get(v.index);
    if (list) list.push(v);
    else byCommand.set(v.index, [v]);
  }
  if (byCommand.size > 0) {
    const t = newTable([
      "connection",
      "command",
      ...(opts.showKeys ? ["key"] : []),
      "how it arrived",
      "gap",
      "rules broken",
    ]);
    let shown = 0;
    for (const vs of byCommand.values()) {
      if (++shown > 25) break;
      const v = vs.find((x) => x.pieces !== undefined) ?? vs[0]!;
      t.push([
        String(v.connection),
        v.command ?? "",
        ...(opts.showKeys ? [v.key ?? ""] : []),
        arrival(v, r.method),
        v.gapMs !== undefined ? `${v.gapMs.toFixed(1)} ms` : "",
        vs.map((x) => x.rule).join(", "),
      ]);
    }
    out.push(t.toString());
    if (byCommand.size > 25) out.push(`(${byCommand.size - 25} more commands in --json)`);
    out.push(`advice: ${ADVICE}`);
  }
  for (const v of r.violations.filter((x) => x.index === undefined)) out.push(`${v.rule}: ${v.message}`);
  for (const n of r.notes) out.push(`note: ${n}`);
  return out.join("\n") + "\n";
}

function arrival(v: Violation, method: CheckMethod): string {
  if (v.pieces) return v.pieces.map((p) => `"${p.text}" (${p.sizeBytes})`).join(" | ");
  return v.writes !== undefined ? `${v.writes} ${arrivalUnit(method)}${v.writes === 1 ? "" : "s"}` : "";
}

/** JUnit XML that CI systems render: one test case per rule. */
export function checkJunit(r: CheckResult, elapsedSec: number): string {
  const cases: [string, string, Violation[]][] = [
    ["writes-per-command", "every command arrives in one write", []],
    ["stall", "no delayed-ACK stall inside a command", []],
    ["min-commands", "the client sent memcached commands", []],
    ["child-exit", "the client command succeeded", []],
  ];
  for (const v of r.violations) cases.find((c) => c[0] === v.rule)?.[2].push(v);
  const failures = cases.filter((c) => c[2].length > 0).length;
  const lines = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="mcdiag check" tests="${cases.length}" failures="${failures}" time="${elapsedSec.toFixed(3)}">`,
    `  <testsuite name="mcdiag check (${r.method})" tests="${cases.length}" failures="${failures}" time="${elapsedSec.toFixed(3)}">`,
  ];
  for (const [rule, name, vs] of cases) {
    if (vs.length === 0) {
      lines.push(`    <testcase classname="mcdiag.check" name="${xml(name)}"/>`);
      continue;
    }
    const detail = vs
      .map((v) => (v.connection !== undefined ? `connection ${v.connection}: ` : "") + v.message)
      .join("\n");
    lines.push(`    <testcase classname="mcdiag.check" name="${xml(name)}">`);
    lines.push(
      `      <failure type="${rule}" message="${xml(`${vs.length} violations: ${vs[0]!.message}`)}">${xml(detail)}</failure>`,
    );
    lines.push(`    </testcase>`);
  }
  lines.push(`  </testsuite>`, `</testsuites>`, "");
  return lines.join("\n");
}

/** GitHub Actions workflow commands: one error annotation per violation (at most 10). */
export function githubAnnotations(r: CheckResult): string {
  const lines = r.violations
    .slice(0, 10)
    .map(
      (v) =>
        `::error title=mcdiag check: ${v.rule}::${escapeGithub(v.message + (v.connection !== undefined ? ` (connection ${v.connection})` : ""))}`,
    );
  if (r.violations.length > 10) lines.push(`::error title=mcdiag check::${r.violations.length - 10} more violations`);
  return lines.length > 0 ? lines.join("\n") + "\n" : "";
}

function xml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function escapeGithub(s: string): string {
  return s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}
