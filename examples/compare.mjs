// @ts-check
// The same load once per write pattern ({split, coalesced} × {Nagle, TCP_NODELAY}):
// when only split writes with Nagle on stall, the delayed ACK is the cause.
//   node examples/compare.mjs [host:port]     (no endpoint: the embedded server)
import { EmbeddedServer, PROBE_DEFAULTS, compare, parseEndpoint } from "mcdiag";

const server = process.argv[2] === undefined ? new EmbeddedServer() : undefined;
const { host, port } = server ? await server.listen() : parseEndpoint(process.argv[2] ?? "");
try {
  const c = await compare({ ...PROBE_DEFAULTS, host, port, all: false, requests: 40 });
  for (const r of c.runs) {
    const pattern = `${r.write} + ${r.noDelay ? "TCP_NODELAY" : "Nagle"}`;
    console.log(`${pattern.padEnd(24)} wire p50 ${String(r.wireUs.p50).padStart(6)} µs, stalled ${r.stalled}`);
  }
  console.log(`Nagle/delayed-ACK signature: ${c.findings.nagleSignature ? "yes" : "no"}`);
  process.exitCode = c.findings.failed.length === 0 ? 0 : 1;
} finally {
  await server?.close();
}
