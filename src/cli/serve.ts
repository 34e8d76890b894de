import { Command } from "commander";
import { EmbeddedServer } from "../server/server.js";
import { formatEndpoint } from "../util/endpoint.js";
import { printJson, type CliContext } from "./context.js";
import { intOption, numberOption, type RawOptions } from "./options.js";
import { MAX_DURATION_MS } from "../util/duration.js";

export function serveCommand(ctx: CliContext): Command {
  const cmd = new Command("serve")
    .description("run the built-in memcached-compatible server in the foreground until interrupted")
    .option("--port <n>", "port to listen on (0 picks a free one)", "11211")
    .option("--host <addr>", "address to listen on", "127.0.0.1")
    .option("--delay <ms>", "fixed service time per command, answered in order per connection", "0")
    .option("--split-replies", "write every reply in two pieces (with --no-nodelay: a response-side stall)")
    .option("--no-nodelay", "leave Nagle on for the server's sockets (memcached sets TCP_NODELAY)")
    .option("--json", "print the bound endpoint as JSON, then counters as JSON on exit");
  cmd.addHelpText(
    "after",
    `
Examples:
  mcdiag serve --port 11211
  mcdiag serve --port 0 --json            # pick a free port, print {"host","port"}
  mcdiag serve --split-replies --no-nodelay   # server whose replies stall on delayed ACK`,
  );
  cmd.action(async (raw: RawOptions) => {
    const server = new EmbeddedServer({
      host: typeof raw.host === "string" ? raw.host : "127.0.0.1",
      port: intOption(raw.port, "--port", 0, 65535, 11211),
      delayMs: numberOption(raw.delay, "--delay", 0, 0, MAX_DURATION_MS),
      splitReplies: raw.splitReplies === true,
      noDelay: raw.nodelay !== false,
    });
    ctx.signalIsStop = true;
    const ep = await server.listen();
    if (raw.json === true) printJson(ctx, ep);
    else ctx.err(`mcdiag serve: listening on ${formatEndpoint(ep)} (Ctrl-C to stop)\n`);
    await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
    await server.close();
    if (raw.json === true) printJson(ctx, server.counters);
    else
      ctx.err(
        `mcdiag serve: stopped after ${server.counters.commands} commands on ${server.counters.totalConnections} connections\n`,
      );
  });
  return cmd;
}
