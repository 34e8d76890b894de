// @ts-check
// Constant-rate steps judged by service-level objectives: the highest rate that
// meets them all.
//   node examples/sweep.mjs [host:port]     (no endpoint: the embedded server)
import { EmbeddedServer, PROBE_DEFAULTS, parseEndpoint, parseSlos, sweep } from "mcdiag";

const server = process.argv[2] === undefined ? new EmbeddedServer() : undefined;
const { host, port } = server ? await server.listen() : parseEndpoint(process.argv[2] ?? "");
try {
  const slos = parseSlos("p99<50ms,success>=99%");
  const s = await sweep({
    ...PROBE_DEFAULTS,
    host,
    port,
    rates: [250, 500, 1000],
    stepDurationMs: 1000,
    pauseMs: 100,
    slos,
  });
  for (const step of s.steps) {
    console.log(`${step.requestedRate}/s: p99 ${step.latencyUs.p99} µs, SLOs ${step.sloMet ? "met" : "broken"}`);
  }
  console.log(`highest rate meeting every SLO: ${s.maxRateMeetingSlo ?? "none"}`);
  process.exitCode = s.failedRates.length === 0 ? 0 : 1;
} finally {
  await server?.close();
}
