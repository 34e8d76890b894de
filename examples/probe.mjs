// @ts-check
// Closed loop: callers that each wait for their answer, through a pool. Split
// writes with Nagle on meet the server's delayed ACK: about 40 ms a request.
//   node examples/probe.mjs [host:port]     (no endpoint: the embedded server)
import { EmbeddedServer, PROBE_DEFAULTS, parseEndpoint, probe } from "mcdiag";

const server = process.argv[2] === undefined ? new EmbeddedServer() : undefined;
const { host, port } = server ? await server.listen() : parseEndpoint(process.argv[2] ?? "");
try {
  const r = await probe({ ...PROBE_DEFAULTS, host, port, write: "split", noDelay: false, requests: 40 });
  console.log(
    `probe ${r.endpoint}: ${r.requests} requests, wire p50 ${(r.wireUs.p50 / 1000).toFixed(1)} ms, ` +
      `${(r.stalledRatio * 100).toFixed(0)} % stalled (wire ≥ ${r.stallThresholdMs} ms)`,
  );
  process.exitCode = r.healthy ? 0 : 1;
} finally {
  await server?.close();
}
