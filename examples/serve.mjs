// @ts-check
// The embedded memcached-compatible server: start it on a free port, talk to
// it, read what it counted and how each command arrived, and stop it.
//   node examples/serve.mjs
import net from "node:net";
import { EmbeddedServer } from "mcdiag";

const server = new EmbeddedServer({ record: true });
const { host, port } = await server.listen();
const sock = net.connect({ host, port });
await new Promise((resolve) => sock.once("connect", resolve));
const reply = () => new Promise((resolve) => sock.once("data", resolve));
let answered = reply();
sock.write("set greeting 0 0 5\r\nhello\r\n");
await answered;
answered = reply();
sock.write("get greeting\r\n");
console.log(
  String(await answered)
    .trim()
    .split("\r\n")
    .join(" | "),
);
sock.end();
const { cmdGet, getHits, cmdSet } = server.counters;
console.log(`counters: ${cmdSet} set, ${cmdGet} get, ${getHits} hit`);
for (const r of server.records) console.log(`  ${r.verb} arrived in ${r.pieces.length} piece(s), ${r.sizeBytes} bytes`);
await server.close();
process.exitCode = getHits === 1 ? 0 : 1;
