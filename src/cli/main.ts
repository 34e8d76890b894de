import { Command, CommanderError } from "commander";
import { isMcdiagError, McdiagError } from "../util/errors.js";
import { analyzeCommand } from "./analyze.js";
import { checkCommand } from "./check.js";
import { compareCommand } from "./compare.js";
import type { CliContext } from "./context.js";
import { demoCommand } from "./demo.js";
import { EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, exitCodeFor } from "./exit-codes.js";
import { mergeCommand } from "./merge.js";
import { poolSizeCommand } from "./pool-size.js";
import { probeCommand } from "./probe.js";
import { serveCommand } from "./serve.js";
import { reportCommand } from "./report.js";
import { sweepCommand } from "./sweep.js";
import { VERSION } from "./version.js";

/** Runs the CLI; resolves with the exit code. The only caller is bin/mcdiag.js. */
export async function run(argv: string[]): Promise<number> {
  const abort = new AbortController();
  let signals = 0;
  // The first signal asks the command to stop and report what it has; a
  // second one means "now": exit at once.
  const onSignal = () => {
    if (++signals > 1) process.exit(EXIT_INTERRUPTED);
    abort.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.stdout.on("error", onOutputError);
  process.on("uncaughtException", onInternalError);
  process.on("unhandledRejection", onInternalError);
  const ctx: CliContext = {
    exitCode: EXIT_OK,
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    signal: abort.signal,
    signalIsStop: false,
  };
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv);
    if (abort.signal.aborted && !ctx.signalIsStop) return EXIT_INTERRUPTED;
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version end with code 0; commander has already printed its message.
      return err.exitCode === 0 || err.code === "commander.helpDisplayed" || err.code === "commander.version"
        ? EXIT_OK
        : EXIT_USAGE;
    }
    if (isMcdiagError(err)) {
      ctx.err(`mcdiag: ${err.message}\n`);
      return exitCodeFor(err.code);
    }
    reportInternal(err);
    return EXIT_INTERNAL;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/**
 * stdout closed by the reader (`| head`): the reader has what it wanted, so
 * exit quietly with 0. Any other output failure (a full disk) is one line and
 * exit 2, never a stack trace and never 1, which CI reads as "findings".
 */
function onOutputError(err: NodeJS.ErrnoException): void {
  if (err.code === "EPIPE") process.exit(EXIT_OK);
  process.stderr.write(`mcdiag: cannot write the output: ${err.code ?? err.message}\n`);
  process.exit(EXIT_USAGE);
}

function onInternalError(err: unknown): void {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === "EPIPE" && e.syscall === "write") process.exit(EXIT_OK);
  reportInternal(err);
  process.exit(EXIT_INTERNAL);
}

/** A bug, not bad input: one line, a request to report it, and the stack only with MCDIAG_DEBUG. */
function reportInternal(err: unknown): void {
  const e = err as Error;
  process.stderr.write(
    `mcdiag: internal error: ${e?.message ?? String(err)} (please report this, with the command line)\n`,
  );
  if (process.env.MCDIAG_DEBUG) process.stderr.write(`${e?.stack ?? ""}\n`);
}

/** The command tree, bound to a context. */
function buildProgram(ctx: CliContext): Command {
  const program = new Command("mcdiag")
    .description("find where memcached latency goes: the connection pool, the wire, or a Nagle/delayed-ACK stall")
    .version(VERSION)
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.out(s), writeErr: (s) => ctx.err(s) });
  for (const sub of [
    probeCommand(ctx),
    compareCommand(ctx),
    sweepCommand(ctx),
    mergeCommand(ctx),
    poolSizeCommand(ctx),
    analyzeCommand(ctx),
    reportCommand(ctx),
    checkCommand(ctx),
    demoCommand(ctx),
    serveCommand(ctx),
  ]) {
    // addCommand does not pass the output settings down: without this a subcommand's usage error
    // would bypass ctx.err.
    program.addCommand(
      sub
        .exitOverride()
        .showHelpAfterError("(run with --help for usage)")
        .configureOutput({ writeOut: (s) => ctx.out(s), writeErr: (s) => ctx.err(s) }),
    );
  }
  program.addHelpText(
    "after",
    `
Examples:
  mcdiag demo                                  reproduce the 40 ms stall on a built-in server
  mcdiag compare 127.0.0.1:11211               split vs coalesced writes, Nagle on vs off
  mcdiag probe 127.0.0.1:11211 --write split   one pattern, with pool and Little's-law figures
  mcdiag analyze capture.pcapng                every stalled request in a capture, with frame numbers
  mcdiag check -- node client.js {endpoint}    fail CI when a client splits its commands
  mcdiag sweep 127.0.0.1:11211 --rates 1000,5000 --slo "p99<2ms"   find the knee
  mcdiag pool-size --rate 5000 --hold 45ms --pool 20               the pool arithmetic
  mcdiag merge results/                        one fleet's results (probe --shard I/N --json) merged exactly
  mcdiag demo --html demo.html                 the demo as a page with charts (opens offline)
  mcdiag report result.json --html page.html   draw the page later, from a saved --json result`,
  );
  return program;
}

/** Commands whose options `parseCommandLine` can check without running them. */
const PARSE_ONLY_COMMANDS = ["probe", "sweep"];

/** A command line as mcdiag reads it, checked but not run. */
export interface ParsedCommandLine {
  command: string;
  /** What the command would run with: validated option values. */
  settings: object;
}

/**
 * Parses a probe or sweep command line (without the program name) exactly
 * as `mcdiag` would, including every check of option values, and runs
 * nothing: for checking the command lines in deployment manifests and
 * scripts. A bad command line throws McdiagError BAD_OPTION with the message
 * mcdiag would print.
 */
export async function parseCommandLine(args: readonly string[]): Promise<ParsedCommandLine> {
  const command = args[0] ?? "";
  if (!PARSE_ONLY_COMMANDS.includes(command)) {
    throw new McdiagError(
      "BAD_OPTION",
      `parseCommandLine checks ${PARSE_ONLY_COMMANDS.join(" and ")} command lines, not '${command}'`,
    );
  }
  let settings: object | undefined;
  let errText = "";
  const ctx: CliContext = {
    exitCode: EXIT_OK,
    out: () => {},
    err: (t) => (errText += t),
    signal: new AbortController().signal,
    signalIsStop: false,
    parseOnly: (s) => (settings = s),
  };
  const program = buildProgram(ctx);
  try {
    await program.parseAsync([...args], { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      throw new McdiagError(
        "BAD_OPTION",
        (errText.split("\n")[0] ?? err.message).replace(/^error: /, "") || err.message,
      );
    }
    throw err;
  }
  if (settings === undefined)
    throw new McdiagError("BAD_OPTION", `${command}: nothing to run (help or version asked?)`);
  return { command, settings };
}
