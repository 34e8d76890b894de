import { SPACE, CR, LF, nextSpace } from "../util/bytes.js";
import type { CommandFrame } from "./request-framing.js";

/**
 * Request verbs of the text protocol, interned: a report names commands by
 * these constant strings, never by bytes a client sent.
 */
const RETRIEVAL = ["get", "gets", "gat", "gats"];
const STORAGE = ["set", "add", "replace", "append", "prepend", "cas"];
const KEYED = ["delete", "incr", "decr", "touch"];
const META_KEYED = ["mg", "ms", "md", "ma"];
const OTHER = [
  "version",
  "stats",
  "verbosity",
  "flush_all",
  "quit",
  "mn",
  "me",
  "shutdown",
  "cache_memlimit",
  "lru_crawler",
  "slabs",
  "watch",
  "lru",
  "misbehave",
  "debugtime",
];
export const TEXT_VERBS: readonly string[] = [...RETRIEVAL, ...STORAGE, ...KEYED, ...META_KEYED, ...OTHER];

const CODES = TEXT_VERBS.map((v) => Buffer.from(v, "latin1"));

/** The interned verb at buf[at, verbEnd), or undefined when it is not a memcached verb. */
export function internVerb(buf: Buffer, at: number, verbEnd: number): string | undefined {
  const n = verbEnd - at;
  outer: for (let i = 0; i < CODES.length; i++) {
    const c = CODES[i]!;
    if (c.length !== n) continue;
    for (let j = 0; j < n; j++) if (buf[at + j] !== c[j]) continue outer;
    return TEXT_VERBS[i];
  }
  return undefined;
}

/** Does a command start at `at` (a known verb followed by a space or the line end)? */
export function looksLikeCommand(buf: Buffer, at: number, end: number): boolean {
  let v = at;
  while (v < end && v - at < 16 && buf[v] !== SPACE && buf[v] !== CR && buf[v] !== LF) v++;
  if (v >= end || v === at) return false;
  return internVerb(buf, at, v) !== undefined;
}

/** What the server will send back for a request. */
export const REPLY_ONE = 0;
export const REPLY_NONE = 1; // noreply, quit
export const REPLY_MAYBE = 2; // quiet-mode meta command: answered only on failure or hit

export interface RequestInfo {
  verb: string;
  keyCount: number;
  /** First key, as offsets in the framed buffer (-1 when none). */
  keyAt: number;
  keyEnd: number;
  reply: number;
}

export function newRequestInfo(): RequestInfo {
  return { verb: "", keyCount: 0, keyAt: -1, keyEnd: -1, reply: REPLY_ONE };
}

/** Classifies a framed text command; `verb` is "other" for verbs memcached does not have. */
export function classifyRequest(buf: Buffer, at: number, f: CommandFrame, out: RequestInfo): void {
  const verb = internVerb(buf, at, f.verbEnd) ?? "other";
  out.verb = verb;
  out.reply = REPLY_ONE;
  out.keyAt = -1;
  out.keyEnd = -1;
  // Count arguments (keys for retrievals) without making strings.
  let args = 0;
  let firstAt = -1;
  let firstEnd = -1;
  let lastAt = -1;
  let lastEnd = -1;
  let quiet = false;
  for (let i = f.verbEnd; i < f.lineEnd;) {
    while (i < f.lineEnd && buf[i] === SPACE) i++;
    if (i >= f.lineEnd) break;
    const e = nextSpace(buf, i, f.lineEnd);
    if (args === 0) {
      firstAt = i;
      firstEnd = e;
    }
    if (e - i === 1 && buf[i] === 0x71 /* q */) quiet = true;
    lastAt = i;
    lastEnd = e;
    args++;
    i = e;
  }
  const noreply = lastEnd - lastAt === 7 && buf.toString("latin1", lastAt, lastEnd) === "noreply";
  if (verb === "get" || verb === "gets") out.keyCount = args;
  else if (verb === "gat" || verb === "gats") out.keyCount = Math.max(0, args - 1);
  else if (STORAGE.includes(verb) || KEYED.includes(verb) || META_KEYED.includes(verb)) out.keyCount = args > 0 ? 1 : 0;
  else out.keyCount = 0;
  if (out.keyCount > 0) {
    // gat/gats take the exptime first; the key follows it.
    if (verb === "gat" || verb === "gats") {
      const k = nextSpace(buf, firstEnd + 1, f.lineEnd);
      out.keyAt = firstEnd + 1;
      out.keyEnd = k;
    } else {
      out.keyAt = firstAt;
      out.keyEnd = firstEnd;
    }
  }
  if (verb === "quit") out.reply = REPLY_NONE;
  else if (noreply) out.reply = REPLY_NONE;
  else if (quiet && (META_KEYED.includes(verb) || verb === "me")) out.reply = REPLY_MAYBE;
}
