import { Command } from "commander";
import { checkCaptureFile, checkClientCommand } from "../check/check.js";
import { DEFAULT_RULES, type CheckResult, type CheckRules } from "../check/rules.js";
import { checkJunit, githubAnnotations, renderCheck } from "../report/check-report.js";
import { parseEndpoint } from "../util/endpoint.js";
import { McdiagError } from "../util/errors.js";
import { printJson, type CliContext } from "./context.js";
import { checkSideFile, writeSideFile } from "./side-files.js";
import { EXIT_FINDINGS } from "./exit-codes.js";
import { collectList, durationOption, intOption, numberOption, portsOption, type RawOptions } from "./options.js";

export function checkCommand(ctx: CliContext): Command {
  const cmd = new Command("check")
    .description("fail a build when a memcached client sends one command in several writes")
    .argument("[command...]", "the client command to run (after --); {host}, {port}, {endpoint} are replaced")
    .option(
      "--capture [file]",
      "with a command: also capture loopback with tcpdump and judge real segments; alone: judge this capture file",
    )
    .option("--port <n>", "with --capture FILE: another memcached server port (repeatable)", collectList, [])
    .option(
      "--upstream <host:port>",
      "relay every command to this memcached and return its answers, still recording how each arrived",
    )
    .option("--timeout <time>", "kill the command after this long", "60s")
    .option(
      "--max-writes-per-command <n>",
      "most writes one command may take (0: rule off)",
      String(DEFAULT_RULES.maxWritesPerCommand),
    )
    .option(
      "--large-command <bytes>",
      "commands above this many bytes are exempt from the writes rule",
      String(DEFAULT_RULES.largeCommandBytes),
    )
    .option(
      "--stall-threshold <ms>",
      "a gap this long inside a command is a stall (0: rule off)",
      String(DEFAULT_RULES.stallThresholdMs),
    )
    .option("--allow-failure", "do not require the command to exit 0")
    .option("--min-commands <n>", "commands that must be seen", String(DEFAULT_RULES.minCommands))
    .option("--show-keys", "show keys in the report (off: production keys can be sensitive)")
    .option("--junit <file>", "also write JUnit XML to this file")
    .option("--json", "print JSON for machines instead of tables");
  cmd.addHelpText(
    "after",
    `
The command runs with MEMCACHED_HOST, MEMCACHED_PORT and MEMCACHED_SERVERS
pointing at a recording server on a free loopback port. The server sees how
each command arrived. With --capture, tcpdump records the loopback traffic as
well, and the verdict comes from real segment counts, which is exact even with
TCP_NODELAY. That needs root or CAP_NET_RAW. Under GITHUB_ACTIONS=true each
violation is also printed as an error annotation.

The recording server speaks memcached's text, meta and binary protocols
itself. With --upstream it relays every command, whole, to a real memcached
and returns its answers, so a client that depends on a server feature is
judged against the real thing; how each command arrived is recorded the same
way.

Examples:
  mcdiag check -- node my-client.js {endpoint}
  mcdiag check --capture -- python3 client.py --server {endpoint}
  mcdiag check --upstream 127.0.0.1:11211 -- node my-client.js
  mcdiag check --capture ci.pcap --port 22122 --junit mcdiag.xml

Exit codes: 0 pass; 1 violations found (a split write, a stall, a failed or
silent client); 2 could not check (bad arguments, command not found, server
or capture could not start, capture unreadable or without memcached traffic).`,
  );
  cmd.action(async (argv: string[], raw: RawOptions & { port: string[]; capture?: string | boolean }) => {
    const json = raw.json === true;
    const showKeys = raw.showKeys === true;
    const rules: CheckRules = {
      maxWritesPerCommand: intOption(
        raw.maxWritesPerCommand,
        "--max-writes-per-command",
        0,
        1_000_000,
        DEFAULT_RULES.maxWritesPerCommand,
      ),
      largeCommandBytes: intOption(raw.largeCommand, "--large-command", 1, 1 << 30, DEFAULT_RULES.largeCommandBytes),
      stallThresholdMs: numberOption(raw.stallThreshold, "--stall-threshold", 0, DEFAULT_RULES.stallThresholdMs),
      childMustSucceed: raw.allowFailure !== true,
      minCommands: intOption(raw.minCommands, "--min-commands", 0, 1_000_000_000, DEFAULT_RULES.minCommands),
    };
    const junit = typeof raw.junit === "string" ? checkSideFile(raw.junit, "--junit") : undefined;
    const started = Date.now();
    let result: CheckResult;
    if (typeof raw.capture === "string") {
      if (argv.length > 0)
        throw new McdiagError("BAD_OPTION", "check: give either a capture file or a command, not both");
      if (typeof raw.upstream === "string")
        throw new McdiagError(
          "BAD_OPTION",
          "check: --upstream relays a client command's traffic; it does not apply to a capture file",
        );
      const ports = portsOption(raw.port);
      result = await checkCaptureFile(raw.capture, ports, { rules, showKeys });
    } else {
      if (argv.length === 0) {
        throw new McdiagError(
          "BAD_OPTION",
          "check: give the client command after -- (e.g. mcdiag check -- node client.js {endpoint}), or --capture FILE",
        );
      }
      const timeoutMs = durationOption(raw.timeout, "--timeout") ?? 60_000;
      result = await checkClientCommand(argv, {
        rules,
        showKeys,
        timeoutMs,
        capture: raw.capture === true,
        ...(typeof raw.upstream === "string" ? { upstream: parseEndpoint(raw.upstream) } : {}),
        signal: ctx.signal,
        childOutput: (chunk) => ctx.err(chunk.toString()),
      });
    }
    if (json) printJson(ctx, result);
    else ctx.out(renderCheck(result, { showKeys }));
    if (junit !== undefined) writeSideFile(junit, checkJunit(result, (Date.now() - started) / 1000), "--junit");
    if (process.env.GITHUB_ACTIONS === "true") {
      const notes = githubAnnotations(result);
      if (json) ctx.err(notes);
      else ctx.out(notes);
    }
    if (result.verdict === "fail") ctx.exitCode = EXIT_FINDINGS;
  });
  return cmd;
}
