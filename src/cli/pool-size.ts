import { Command } from "commander";
import { poolModel } from "../metrics/erlang.js";
import { renderPoolModel } from "../report/pool-size-report.js";
import { McdiagError } from "../util/errors.js";
import { printJson, type CliContext } from "./context.js";
import { durationOption, intOption, numberOption, type RawOptions } from "./options.js";

/** The models answer in milliseconds up to here; beyond it a rate is a typo, not a workload. */
const MAX_MODEL_RATE = 1e9;

export function poolSizeCommand(ctx: CliContext): Command {
  const cmd = new Command("pool-size")
    .description(
      "size a connection pool from a rate and a hold time (Little's law and Erlang C), without touching any server",
    )
    .requiredOption("--rate <n>", "requests per second")
    .requiredOption("--hold <time>", "mean time each request holds a connection, e.g. 45ms or 0.3ms")
    .option("--pool <n>", "the pool size you have", "20")
    .option("--target-wait <time>", "acceptable mean wait for a connection", "1ms")
    .option("--compare-hold <time>", "also show what a different hold time would need (e.g. the sub-millisecond norm)")
    .option("--json", "print JSON for machines");
  cmd.addHelpText(
    "after",
    `
Busy connections L = rate × hold (Little's law). With random (Poisson)
arrivals the M/M/c model (Erlang C) gives the probability of waiting and the
mean wait, and the smallest pool that meets --target-wait.

Examples:
  mcdiag pool-size --rate 5000 --hold 45ms --pool 20 --compare-hold 0.3ms
  mcdiag pool-size --rate 20 --hold 45ms --pool 20 --json`,
  );
  cmd.action((raw: RawOptions) => {
    const rate = numberOption(raw.rate, "--rate", 0, 0, MAX_MODEL_RATE);
    const holdMs = holdOption(raw.hold, "--hold");
    const pool = intOption(raw.pool, "--pool", 1, 1_000_000, 20);
    const target = holdOption(raw.targetWait, "--target-wait");
    if (!(target > 0)) throw new McdiagError("BAD_OPTION", "--target-wait: the acceptable wait must be above zero");
    const m = poolModel(rate, holdMs, pool, target);
    const compare =
      typeof raw.compareHold === "string"
        ? poolModel(rate, holdOption(raw.compareHold, "--compare-hold"), pool, target)
        : undefined;
    if (raw.json === true) {
      const { targetWaitMs: _t, ...rest } = m;
      printJson(ctx, {
        ...rest,
        targetWaitMs: m.targetWaitMs,
        ...(compare
          ? {
              compare: {
                holdMs: compare.holdMs,
                busyConnections: compare.busyConnections,
                requiredPool: compare.requiredPool,
                meanWaitMs: compare.meanWaitMs,
              },
            }
          : {}),
      });
    } else ctx.out(renderPoolModel(m, compare));
  });
  return cmd;
}

/** A duration in ms that may be fractional (0.3ms) or zero. */
function holdOption(raw: string | boolean | undefined, option: string): number {
  if (typeof raw !== "string") throw new McdiagError("BAD_OPTION", `${option} is required`);
  if (/^\s*0+(\.0+)?\s*(ms|s|us|µs)?\s*$/.test(raw)) return 0;
  const us = /^\s*(\d+(?:\.\d+)?)\s*(us|µs)\s*$/.exec(raw);
  if (us) return Number(us[1]) / 1000;
  return durationOption(raw, option)!;
}
