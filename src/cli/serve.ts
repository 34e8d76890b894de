import { Command } from "commander";
import { EmbeddedServer } from "../server/server.js";
import { formatEndpoint, MAX_PORT } from "../util/endpoint.js";
import { printJson, type CliContext } from "./context.js";
import { durationOption, intOption, type RawOptions } from "./options.js";
import { DEFAULT_ITEM_SIZE_MAX, DEFAULT_MEMORY_BYTES } from "../server/store.js";

const MIB = 1024 * 1024;

export function serveCommand(ctx: CliContext): Command {
  const cmd = new Command("serve")
    .description("run the built-in memcached (text, meta and binary protocols) in the foreground until interrupted")
    .option("--port <n>", "port to listen on (0 picks a free one)", "11211")
    .option("--host <addr>", "address to listen on", "127.0.0.1")
    .option(
      "--delay <time>",
      "fixed service time per command, answered in order per connection (a bare number is ms)",
      "0",
    )
    .option("--max-item-size <bytes>", "largest item, like memcached's -I", String(DEFAULT_ITEM_SIZE_MAX))
    .option(
      "--memory <MB>",
      "memory for items, like memcached's -m; the oldest items are evicted beyond it",
      String(DEFAULT_MEMORY_BYTES / MIB),
    )
    .option("--split-replies", "write every reply in two pieces (with --no-nodelay: a response-side stall)")
    .option("--no-nodelay", "leave Nagle on for the server's sockets (memcached sets TCP_NODELAY)")
    .option("--json", "print the bound endpoint as JSON, then counters as JSON on exit");
  cmd.addHelpText(
    "after",
    `
The server speaks memcached 1.6's protocols, chosen per connection from the
first byte: text (get gets gat gats set add replace append prepend cas touch
incr decr delete flush_all stats verbosity version quit), meta (mg ms md ma
mn me) and binary (every opcode memcached implements, quiet variants
included). Every buffer is bounded: a line (8 KiB, multi-key gets 1 MiB), a
value (--max-item-size, refused at the command line above it), the replies a
client has not read (4 MiB per connection: the server stops reading it until
they drain), and the commands held for --delay (4,096 per connection).

Examples:
  mcdiag serve --port 11211
  mcdiag serve --port 0 --json            # pick a free port, print {"host","port"}
  mcdiag serve --delay 2ms                # every answer takes at least 2 ms
  mcdiag serve --split-replies --no-nodelay   # server whose replies stall on delayed ACK
  memccapable -h 127.0.0.1 -p 11211       # libmemcached's conformance tests pass`,
  );
  cmd.action(async (raw: RawOptions) => {
    const delay =
      typeof raw.delay === "string" && /^\s*\d+(\.\d+)?\s*$/.test(raw.delay) ? `${raw.delay.trim()}ms` : raw.delay;
    const server = new EmbeddedServer({
      host: typeof raw.host === "string" ? raw.host : "127.0.0.1",
      port: intOption(raw.port, "--port", 0, MAX_PORT, 11211),
      delayMs: durationOption(delay, "--delay", { allowZero: true }) ?? 0,
      maxItemBytes: intOption(raw.maxItemSize, "--max-item-size", 1024, 128 * 1024 * 1024, DEFAULT_ITEM_SIZE_MAX),
      maxBytes: intOption(raw.memory, "--memory", 1, 64 * 1024, DEFAULT_MEMORY_BYTES / MIB) * MIB,
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
