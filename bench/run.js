// `npm run bench`: every benchmark, side by side with an established tool in
// the same run; prints a table and writes bench/out/results.json.
import { mkdirSync, writeFileSync } from "node:fs";
import { analyzeParallel } from "./analyze-parallel.js";
import { analyzeVsTshark } from "./analyze-vs-tshark.js";
import { constantRate } from "./constant-rate.js";
import { generatorTiming } from "./generator-timing.js";
import { htmlReportCost } from "./html-report.js";
import { probeAllocations } from "./probe-allocations.js";
import { probeVsMemtier } from "./probe-vs-memtier.js";
import { probeVsMemcslap } from "./probe-vs-memcslap.js";

const benches = {
  probe: probeVsMemcslap,
  rate: constantRate,
  timing: generatorTiming,
  alloc: probeAllocations,
  memtier: probeVsMemtier,
  analyze: analyzeVsTshark,
  "analyze-parallel": analyzeParallel,
  html: htmlReportCost,
};
const only = process.argv[2];
const results = [];
for (const [name, fn] of Object.entries(benches)) {
  if (only && only !== name) continue;
  process.stderr.write(`bench ${name}…\n`);
  results.push(await fn());
}
mkdirSync(new URL("./out/", import.meta.url), { recursive: true });
writeFileSync(new URL("./out/results.json", import.meta.url), JSON.stringify(results, null, 2) + "\n");
for (const r of results) console.log(JSON.stringify(r));
process.exitCode = results.every((r) => r.pass) ? 0 : 1;
