// @ts-check
// Runs a client command against a recording server and judges how its commands
// arrived: the bundled split-client writes each get token by token, so it fails.
//   node examples/check.mjs [command…]     (no command: node examples/split-client.mjs)
import { fileURLToPath } from "node:url";
import { DEFAULT_RULES, check } from "mcdiag";

const argv =
  process.argv.length > 2
    ? process.argv.slice(2)
    : [process.execPath, fileURLToPath(new URL("./split-client.mjs", import.meta.url))];
const r = await check(argv, { rules: DEFAULT_RULES, showKeys: false, timeoutMs: 30_000, capture: false });
console.log(`${r.verdict}: ${r.commands} commands, ${r.violations.length} violations`);
for (const v of r.violations.slice(0, 3)) console.log(`  ${v.rule}: ${v.message}`);
process.exitCode = r.verdict === "pass" ? 0 : 1;
