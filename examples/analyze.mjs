// @ts-check
// Reads a capture (pcap, pcapng, gzipped or not) and finds the requests that
// waited for a delayed ACK, with the segments that prove it.
//   node examples/analyze.mjs [capture]     (no file: a capture of split writes with Nagle on)
import { fileURLToPath } from "node:url";
import { ANALYZE_DEFAULTS, analyze } from "mcdiag";

const input = process.argv[2] ?? fileURLToPath(new URL("../fixtures/captures/split-nagle.pcap", import.meta.url));
const a = await analyze({ ...ANALYZE_DEFAULTS, input });
console.log(
  `${a.packets} packets, ${a.requests.total} requests: ${a.stalls.request} request-side stalls, ` +
    `${a.stalls.response} response-side, typically ${a.stalls.delayedAckTimerMs ?? "-"} ms`,
);
for (const s of a.stalls.items.slice(0, 3))
  console.log(`  ${s.side} stall of ${s.stallMs} ms in ${s.command}, frames ${s.frames.join(", ")}`);
process.exitCode = a.stalls.request + a.stalls.response > 0 ? 1 : 0;
