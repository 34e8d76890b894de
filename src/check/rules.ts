import { arrivalUnit, type CheckMethod, type CommandObservation } from "./observation.js";
import { round } from "../util/round.js";

export type RuleName = "writes-per-command" | "stall" | "child-exit" | "min-commands";

export interface CheckRules {
  /** Most writes one command may take; 0 turns the rule off. */
  maxWritesPerCommand: number;
  /** Commands larger than this leave in several segments whatever the client does: exempt from the writes rule. */
  largeCommandBytes: number;
  /** A gap of at least this inside one command is a stall; 0 turns the rule off. */
  stallThresholdMs: number;
  /** The child command must exit 0. */
  childMustSucceed: boolean;
  /** At least this many commands must be seen (a client that never connected is not a pass). */
  minCommands: number;
}

export const DEFAULT_RULES: CheckRules = {
  maxWritesPerCommand: 1,
  largeCommandBytes: 1448,
  stallThresholdMs: 30,
  childMustSucceed: true,
  minCommands: 1,
};

export interface Violation {
  rule: RuleName;
  message: string;
  /** Position of the command among those checked (groups a command's violations). */
  index?: number;
  connection?: number;
  command?: string;
  key?: string;
  writes?: number;
  gapMs?: number;
  pieces?: { sizeBytes: number; text: string }[];
}

export interface CheckResult {
  verdict: "pass" | "fail";
  method: CheckMethod;
  endpoint: string | undefined;
  /** The real memcached the recording server relayed every command to (check --upstream). */
  upstream?: string;
  commands: number;
  violations: Violation[];
  childExitCode: number | null;
  /** Honest limits of the method for this run. */
  notes: string[];
}

export interface ChildOutcome {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  timeoutMs: number;
}

/** Judges observations by the rules. The child outcome is absent when judging a capture file. */
export function judge(
  observations: readonly CommandObservation[],
  rules: CheckRules,
  method: CheckMethod,
  child: ChildOutcome | undefined,
  showKeys: boolean,
): { violations: Violation[]; notes: string[] } {
  const violations: Violation[] = [];
  const notes: string[] = [];
  observations.forEach((o, index) => {
    const base = {
      index,
      connection: o.connection,
      command: o.command,
      ...(showKeys && o.key !== undefined ? { key: o.key } : {}),
    };
    const tooMany =
      rules.maxWritesPerCommand > 0 && o.writes > rules.maxWritesPerCommand && o.sizeBytes <= rules.largeCommandBytes;
    const stalled = rules.stallThresholdMs > 0 && (o.stalled || o.gapMs >= rules.stallThresholdMs);
    if (tooMany) {
      violations.push({
        rule: "writes-per-command",
        message: `${o.command} arrived in ${o.writes} ${arrivalUnit(method)}s (at most ${rules.maxWritesPerCommand} allowed)`,
        ...base,
        writes: o.writes,
        gapMs: round(o.gapMs, 3),
        ...(o.pieces ? { pieces: o.pieces } : {}),
      });
    }
    if (stalled) {
      violations.push({
        rule: "stall",
        message: `${o.command} stalled ${round(o.gapMs, 3)} ms between its pieces (the delayed-ACK wait)`,
        ...base,
        writes: o.writes,
        gapMs: round(o.gapMs, 3),
      });
    }
  });
  if (observations.length < rules.minCommands) {
    violations.push({
      rule: "min-commands",
      message:
        observations.length === 0
          ? "no memcached command was seen: the client never connected or never sent anything (not a pass)"
          : `only ${observations.length} commands were seen (at least ${rules.minCommands} required)`,
    });
  }
  if (child !== undefined && rules.childMustSucceed && child.exitCode !== 0) {
    violations.push({
      rule: "child-exit",
      message: child.timedOut
        ? `the command did not finish within ${child.timeoutMs} ms and was killed`
        : child.signal
          ? `the command was killed by ${child.signal}`
          : `the command exited ${child.exitCode}`,
    });
  }
  if (method === "recording") {
    const close = observations.filter((o) => o.writes > 1 && o.gapMs < 1).length;
    const stalls = violations.some((v) => v.rule === "stall");
    // With stalls, close pieces are the first requests of a connection (quick-ack), not TCP_NODELAY.
    if (close > 0 && !stalls) {
      notes.push(
        `${close} ${close === 1 ? "command" : "commands"} arrived in several pieces less than 1 ms apart: the client likely sets TCP_NODELAY. ` +
          "Pieces written back to back can also arrive together, so counting reads may under-count split writes; --capture counts segments exactly.",
      );
    } else if (violations.every((v) => v.rule !== "writes-per-command")) {
      notes.push(
        "the recording counts the reads the server made: a client with TCP_NODELAY whose pieces arrive together is not seen splitting; --capture counts segments exactly.",
      );
    }
  }
  return { violations, notes };
}
