import type { Command } from "commander";
import type { WorkerId } from "../probes/run-info.js";
import { MAX_SHARDS, parseShard, shardFromEnv } from "../probes/shard.js";
import { parseStartAt } from "../probes/start-at.js";
import { MAX_WORKER_THREADS } from "../probes/workers.js";
import { McdiagError } from "../util/errors.js";
import { intOption, type RawOptions } from "./options.js";

/** How this process takes part in a run split across workers. */
export interface FleetSettings {
  /** The shard this process is (`--shard`, `--shards`), or none. */
  splits: WorkerId[];
  /** Worker threads (`--workers`); 1 runs in this thread. */
  threads: number;
  /** `--start-at`, epoch ms. */
  startAtMs?: number;
}

/** `--shard`, `--shards`, `--start-at`, and `--workers` where the command runs threads. */
export function addFleetOptions(cmd: Command, threads: boolean): Command {
  cmd
    .option("--shard <i/n>", "be worker I of N: its share of the load and its slice of the keys (e.g. 0/4)")
    .option("--shards <n>", "as --shard, with I from JOB_COMPLETION_INDEX (Kubernetes) or NOMAD_ALLOC_INDEX (Nomad)")
    .option(
      "--start-at <time>",
      "start measuring at this time, after setup (epoch ms, or ISO 8601 with a zone: 2026-01-01T12:00:00Z)",
    );
  if (threads) cmd.option("--workers <n>", "run the load as N shards on worker threads, merged into one result");
  return cmd;
}

export function fleetSettingsFrom(raw: RawOptions, env: Readonly<Record<string, string | undefined>>): FleetSettings {
  if (raw.shard !== undefined && raw.shards !== undefined) {
    throw new McdiagError(
      "BAD_OPTION",
      "give --shard I/N, or --shards N with the index from the environment, not both",
    );
  }
  const splits: WorkerId[] = [];
  if (typeof raw.shard === "string") splits.push(parseShard(raw.shard));
  if (raw.shards !== undefined) splits.push(shardFromEnv(intOption(raw.shards, "--shards", 1, MAX_SHARDS, 1), env));
  const s: FleetSettings = { splits, threads: intOption(raw.workers, "--workers", 1, MAX_WORKER_THREADS, 1) };
  if (typeof raw.startAt === "string") s.startAtMs = parseStartAt(raw.startAt);
  return s;
}
