import { McdiagError } from "../util/errors.js";

/**
 * Every `--json` result mcdiag prints opens with the same envelope:
 *
 *   { "kind": "mcdiag.probe", "version": 1, …the result's own fields… }
 *
 * `kind` says what the document is, so `merge` and `report` can dispatch on
 * it and refuse a mix; `version` is the record format, raised when a field
 * changes meaning. A reader accepts versions up to its own and names the
 * file when it meets a newer one.
 */
export const RECORD_VERSION = 1;

export const RECORD_KINDS = ["probe", "compare", "sweep", "analyze"] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

export interface RecordEnvelope {
  kind: `mcdiag.${RecordKind}`;
  version: number;
}

export function envelope(kind: RecordKind): RecordEnvelope {
  return { kind: `mcdiag.${kind}`, version: RECORD_VERSION };
}

/** A result with its envelope first, as `--json` prints it. */
export function withEnvelope<T extends object>(kind: RecordKind, result: T): RecordEnvelope & T {
  return { ...envelope(kind), ...result };
}

const KIND = /^mcdiag\.(probe|compare|sweep|analyze)$/;

/**
 * The kind of a parsed document, after checking its envelope. `where` names
 * the file in the one-line error.
 */
export function recordKindOf(doc: unknown, where: string): RecordKind {
  const bad = (why: string) => new McdiagError("BAD_INPUT", `${where}: ${why}`, { file: where });
  if (doc === null || typeof doc !== "object" || Array.isArray(doc))
    throw bad("not an mcdiag result (not a JSON object)");
  const d = doc as Record<string, unknown>;
  if (typeof d.kind !== "string") {
    throw bad('not an mcdiag result (no "kind": write it with --json)');
  }
  const m = KIND.exec(d.kind);
  if (m === null) throw bad(`not an mcdiag result (kind '${d.kind.slice(0, 40)}')`);
  if (typeof d.version !== "number" || !Number.isInteger(d.version) || d.version < 1) {
    throw bad(`${d.kind} without a valid "version"`);
  }
  if (d.version > RECORD_VERSION) {
    throw bad(`${d.kind} version ${d.version} is newer than this mcdiag reads (${RECORD_VERSION}): upgrade mcdiag`);
  }
  return m[1] as RecordKind;
}
