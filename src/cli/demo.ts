import { Command } from "commander";
import { EmbeddedServer } from "../server/server.js";
import { formatEndpoint } from "../util/endpoint.js";
import type { CliContext } from "./context.js";
import { compareAndReport } from "./compare.js";
import { addHtmlOption, htmlPath } from "./html-option.js";
import { addLoadOptions, type RawOptions } from "./options.js";

export function demoCommand(ctx: CliContext): Command {
  const cmd = new Command("demo")
    .description("reproduce the 40 ms Nagle/delayed-ACK stall on a built-in server and show its fix (no setup needed)")
    .option("--all", "also run corked writes (cork/uncork)");
  addHtmlOption(cmd);
  addLoadOptions(cmd, "2s");
  cmd.addHelpText(
    "after",
    `
Starts the built-in memcached-compatible server on a free loopback port and
runs \`mcdiag compare\` against it.

Examples:
  mcdiag demo
  mcdiag demo --health-check version --duration 3s --json
  mcdiag demo --html demo.html      the same comparison as a page with charts`,
  );
  cmd.action(async (raw: RawOptions) => {
    htmlPath(raw); // a bad --html path fails before the server starts
    const server = new EmbeddedServer();
    const ep = await server.listen();
    if (raw.json !== true) ctx.out(`built-in server listening on ${formatEndpoint(ep)}\n`);
    try {
      await compareAndReport(ctx, ep.host, ep.port, raw, cmd.getOptionValueSource("duration") === "cli");
    } finally {
      await server.close();
    }
  });
  return cmd;
}
