import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { McdiagError, isMcdiagError } from "../util/errors.js";
import { CaptureReader } from "./capture.js";
import { SourceDamaged, openSource } from "./source.js";

/** One file of a capture set, with its first packet's time (undefined for a file without packets). */
export interface SetFile {
  path: string;
  firstPacketEpochNs: bigint | undefined;
  /** Its format and link types ("pcap 1"), as far as its first packet tells. */
  kind: string;
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

/** Overlap a ring's files may show (the small reordering of a multi-queue capture). */
export const OVERLAP_SLACK_NS = 1e9;

/** How far into the first file `overlapEarly` reads at most. */
const OVERLAP_PROBE_BYTES = 4 * 1024 * 1024;

/** Stops the read of `overlapEarly` once the first file is seen to overlap the second. */
class OverlapSeen extends Error {}

/**
 * Whether the first of the (ordered) files runs on past the second's first
 * packet, by more than OVERLAP_SLACK_NS, within its first few megabytes:
 * captures taken at once on several hosts, which are then analysed apart
 * without first reading one of them as part of a sequence. A later overlap
 * is still found while reading (NotOneSequence).
 */
export async function overlapEarly(files: readonly SetFile[]): Promise<boolean> {
  const [a, b] = files;
  if (a?.firstPacketEpochNs === undefined || b?.firstPacketEpochNs === undefined) return false;
  const limitNs = Number(b.firstPacketEpochNs - a.firstPacketEpochNs) + OVERLAP_SLACK_NS;
  const source = openSource(a.path);
  const reader = new CaptureReader(
    {
      onPacket(pk) {
        if (pk.tNs > limitNs) throw new OverlapSeen();
      },
    },
    source.name,
  );
  try {
    for await (const chunk of source.chunks) {
      reader.push(chunk);
      if (source.readBytes() >= OVERLAP_PROBE_BYTES) break;
    }
  } catch (err) {
    if (err instanceof OverlapSeen) return true;
    // Damage is reported by the analysis proper.
    if (!(err instanceof SourceDamaged) && !isMcdiagError(err)) throw err;
  } finally {
    source.close();
  }
  return false;
}

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
    out.push({ path, ...(await firstPacket(path)) });
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
 * Whether the files can be one capture cut in sequence (a ring buffer): one
 * format and link type. (Whether they also follow one another in time is
 * found as they are read: see NotOneSequence.)
 */
export function sameKind(files: readonly SetFile[]): boolean {
  return files.every((f) => f.kind === files[0]!.kind);
}

async function firstPacket(path: string): Promise<{ firstPacketEpochNs: bigint | undefined; kind: string }> {
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
    if (err instanceof FirstPacketSeen)
      return { firstPacketEpochNs: reader.info.firstPacketEpochNs, kind: kindOf(reader) };
    if (!(err instanceof SourceDamaged)) throw err;
    if (reader.info.format === undefined)
      throw new McdiagError("BAD_INPUT", `${err.message}, before any capture data`, { file: source.name });
  } finally {
    source.close();
  }
  return { firstPacketEpochNs: reader.info.firstPacketEpochNs, kind: kindOf(reader) };
}

function kindOf(reader: CaptureReader): string {
  return `${reader.info.format ?? ""} ${reader.info.linkTypes.join(",")}`;
}
