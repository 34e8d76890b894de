// @ts-check
// Open loop: requests leave on a fixed schedule whatever the answers do, and
// latency counts from each request's intended start (no coordinated omission).
//   node examples/probe-rate.mjs [host:port]     (no endpoint: the embedded server)
import { EmbeddedServer, PROBE_DEFAULTS, parseEndpoint, probeRate } from "mcdiag";

const server = process.argv[2] === undefined ? new EmbeddedServer() : undefined;
const { host, port } = server ? await server.listen() : parseEndpoint(process.argv[2] ?? "");
try {
  const r = await probeRate({ ...PROBE_DEFAULTS, host, port, ratePerSec: 1000, durationMs: 1000 });
  console.log(
    `probe --rate ${r.requestedRate}/s: achieved ${r.achievedRate}/s, ${r.issued} issued, ` +
      `users' p99 ${r.latencyUs.p99} µs, service p99 ${r.serviceUs.p99} µs, ` +
      `mcdiag's own share ${(r.generatorShare * 100).toFixed(1)} %`,
  );
  process.exitCode = r.healthy ? 0 : 1;
} finally {
  await server?.close();
}
