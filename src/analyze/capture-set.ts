import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { McdiagError } from "../util/errors.js";
import { CaptureReader } from "./capture.js";
import { SourceDamaged, openSource } from "./source.js";

/** One file of a capture set, with its first packet's time (undefined for a file without packets). */
export interface SetFile {
  path: string;
  firstPacketEpochNs: bigint | undefined;
}

/**
 * The capture files the arguments name: a directory stands for every file in
 * it (a ring buffer that tcpdump -C -W or dumpcap -b wrote), by name. Which
 * files are captures is told by their content, not their names (tcpdump's
 * ring appends digits after the extension), so anything else in a directory
 * fails later, naming the file.
 */
export function captureFiles(args: readonly string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    if (a === "-") {
      if (args.length > 1) throw new McdiagError("BAD_OPTION", "- (stdin) cannot be read beside other capture files");
      out.push(a);
      continue;
    }
    let dir = false;
    try {
      dir = statSync(a).isDirectory();
    } catch {
      // A missing file: openSource says so, naming it.
    }
    if (!dir) {
      out.push(a);
      continue;
    }
    const names = readdirSync(a).sort();
    if (names.length === 0)
      throw new McdiagError("BAD_INPUT", `${a}: the directory holds no capture files`, { file: a });
    for (const n of names) {
      const path = join(a, n);
      if (statSync(path).isDirectory())
        throw new McdiagError("BAD_INPUT", `${path}: a directory inside ${a}, not a capture file`, { file: path });
      out.push(path);
    }
  }
  return out;
}

/** Stops a probe read at the first packet. */
class FirstPacketSeen extends Error {}

/**
 * Reads each file up to its first packet, then orders the set by that time
 * (files without packets last, then by name): the order of a ring buffer,
 * whatever its names. A file that is not a capture fails here, naming it,
 * before any analysis.
 */
export async function orderByFirstPacket(paths: readonly string[], signal?: AbortSignal): Promise<SetFile[]> {
  const out: SetFile[] = [];
  for (const path of paths) {
    if (signal?.aborted) break;
    out.push({ path, firstPacketEpochNs: await firstPacketNs(path) });
  }
  return out.sort((a, b) => {
    const x = a.firstPacketEpochNs;
    const y = b.firstPacketEpochNs;
    if (x !== undefined && y !== undefined && x !== y) return x < y ? -1 : 1;
    if ((x === undefined) !== (y === undefined)) return x === undefined ? 1 : -1;
    return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
  });
}

/**
 * Whether the ordered files make one capture cut in sequence (a ring
 * buffer): one format and link type, and no file beginning more than a
 * second before the one before it ends (the slack allows for the small
 * reordering of a multi-queue capture). Otherwise they are separate captures
 * (taken at once on several hosts, or unrelated): each is analysed alone and
 * the results merged. Reads every file's packet times (not their contents).
 */
export async function isOneSequence(files: readonly SetFile[], signal?: AbortSignal): Promise<boolean> {
  let kind: string | undefined;
  let lastNs: bigint | undefined;
  for (const f of files) {
    if (signal?.aborted) return true;
    const span = await timeSpan(f.path);
    if (span.firstNs === undefined) continue;
    if (kind !== undefined && kind !== span.kind) return false;
    kind = span.kind;
    if (lastNs !== undefined && span.firstNs + OVERLAP_SLACK_NS < lastNs) return false;
    lastNs = span.lastNs;
  }
  return true;
}

const OVERLAP_SLACK_NS = 1_000_000_000n;

/** A file's format and link types, and its first and last packet times (epoch ns; the latest, for the last). */
async function timeSpan(path: string): Promise<{ kind: string; firstNs: bigint | undefined; lastNs: bigint }> {
  let maxTNs = 0;
  const source = openSource(path);
  const reader = new CaptureReader(
    {
      onPacket(pk) {
        if (pk.tNs > maxTNs) maxTNs = pk.tNs;
      },
    },
    source.name,
    true,
  );
  try {
    for await (const chunk of source.chunks) reader.push(chunk);
    reader.end();
  } catch (err) {
    // A damaged file ends where the damage is, for its span as for its analysis.
    if (!(err instanceof SourceDamaged)) throw err;
  } finally {
    source.close();
  }
  const info = reader.info;
  const firstNs = info.firstPacketEpochNs;
  return {
    kind: `${info.format ?? ""} ${info.linkTypes.join(",")}`,
    firstNs,
    lastNs: (firstNs ?? 0n) + BigInt(Math.round(maxTNs)),
  };
}

async function firstPacketNs(path: string): Promise<bigint | undefined> {
  const source = openSource(path);
  const reader = new CaptureReader(
    {
      onPacket() {
        throw new FirstPacketSeen();
      },
    },
    source.name,
  );
  try {
    for await (const chunk of source.chunks) reader.push(chunk);
    reader.end();
  } catch (err) {
    if (err instanceof FirstPacketSeen) return reader.info.firstPacketEpochNs;
    if (!(err instanceof SourceDamaged)) throw err;
    if (reader.info.format === undefined)
      throw new McdiagError("BAD_INPUT", `${err.message}, before any capture data`, { file: source.name });
  } finally {
    source.close();
  }
  return reader.info.firstPacketEpochNs;
}
