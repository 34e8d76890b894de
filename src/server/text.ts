import { cInt32, cUint32, cUint64 } from "./numbers.js";
import { executeMeta } from "./meta.js";
import type { ServerFrame } from "./framer.js";
import { CLOSE_AFTER_WRITE, CLOSE_NOW, WATCH, line, type Reply, type ServerState } from "./session.js";
import {
  DELTA_CAS_MISMATCH,
  DELTA_NON_NUMERIC,
  DELTA_NOT_FOUND,
  EXISTS,
  NOT_FOUND,
  NREAD_ADD,
  NREAD_APPEND,
  NREAD_CAS,
  NREAD_PREPEND,
  NREAD_REPLACE,
  NREAD_SET,
  STORED,
  type Item,
} from "./store.js";
import { itemTotalBytes } from "./slabs.js";
import { classOf, generalStats, itemsStats, settingsStats, sizesStats, slabsStats } from "./stats.js";
import { newTokens, tokenIs, tokenLength, tokenize, type Tokens } from "./tokens.js";
import { MAX_KEY_BYTES } from "../protocol/keys.js";

/**
 * memcached's classic text protocol (proto_text.c `process_command_ascii`
 * and the handlers it calls), answer for answer: the same token counts,
 * number parsing, error strings and noreply rules.
 */
const tok: Tokens = newTokens();
const delta = { value: 0n, item: undefined as Item | undefined };

const ERROR = line("ERROR");
const END = Buffer.from("END\r\n");
const BAD_FORMAT = line("CLIENT_ERROR bad command line format");

/**
 * Runs the text command framed in `f`. `resumeAt` continues a multi-key
 * get where an earlier call stopped (see Reply.resumeAt).
 */
export function executeText(s: ServerState, r: Reply, f: ServerFrame, resumeAt = -1): void {
  const buf = f.buf;
  tokenize(buf, f.start, f.lineEnd, tok);
  const t = tok;
  const ntokens = t.count + 1;
  if (t.count < 1 || tokenLength(t, 0) < 2) return r.outString(ERROR);
  const v0 = buf[t.starts[0]!];
  if (v0 === 0x6d /* m */ && tokenLength(t, 0) === 2) return executeMeta(s, r, f, t);
  if (v0 === 0x67 /* g */) {
    if (ntokens < 3) return r.outString(ERROR);
    if (verbIs(buf, "get")) return get(s, r, f, false, false, resumeAt);
    if (verbIs(buf, "gets")) return get(s, r, f, true, false, resumeAt);
    if (verbIs(buf, "gat")) return get(s, r, f, false, true, resumeAt);
    if (verbIs(buf, "gats")) return get(s, r, f, true, true, resumeAt);
    return r.outString(ERROR);
  }
  if (verbIs(buf, "set")) return update(s, r, f, ntokens, NREAD_SET);
  if (verbIs(buf, "add")) return update(s, r, f, ntokens, NREAD_ADD);
  if (verbIs(buf, "append")) return update(s, r, f, ntokens, NREAD_APPEND);
  if (verbIs(buf, "replace")) return update(s, r, f, ntokens, NREAD_REPLACE);
  if (verbIs(buf, "prepend")) return update(s, r, f, ntokens, NREAD_PREPEND);
  if (verbIs(buf, "cas")) return update(s, r, f, ntokens, NREAD_CAS);
  if (verbIs(buf, "stats")) return stats(s, r, buf, ntokens);
  if (verbIs(buf, "shutdown")) return r.outString(line("ERROR: shutdown not enabled"));
  if (verbIs(buf, "slabs")) return slabs(r, buf, ntokens);
  if (verbIs(buf, "cache_memlimit")) return memlimit(r, buf, ntokens);
  if (verbIs(buf, "incr") || verbIs(buf, "decr")) {
    if (ntokens !== 4 && ntokens !== 5) return r.outString(ERROR);
    return arithmetic(s, r, buf, ntokens, verbIs(buf, "incr"));
  }
  if (verbIs(buf, "delete")) {
    if (ntokens < 3 || ntokens > 5) return r.outString(ERROR);
    return del(s, r, buf, ntokens);
  }
  if (verbIs(buf, "touch")) {
    if (ntokens !== 4 && ntokens !== 5) return r.outString(ERROR);
    return touch(s, r, buf, ntokens);
  }
  if (verbIs(buf, "bget")) {
    if (ntokens < 3) return r.outString(ERROR);
    return get(s, r, f, false, false, resumeAt);
  }
  if (verbIs(buf, "flush_all")) {
    if (ntokens < 2 || ntokens > 4) return r.outString(ERROR);
    return flushAll(s, r, buf, ntokens);
  }
  if (verbIs(buf, "version")) return r.outString(line(`VERSION ${s.version}`));
  if (verbIs(buf, "quit")) {
    r.action = CLOSE_AFTER_WRITE;
    return;
  }
  if (verbIs(buf, "verbosity")) {
    if (ntokens !== 3 && ntokens !== 4) return r.outString(ERROR);
    noreplyMaybe(r, buf, ntokens);
    const level = cUint32(buf, t.starts[1]!, t.ends[1]!);
    if (level < 0) return r.outString(BAD_FORMAT);
    s.verbosity = Math.min(level, 2);
    return r.outString(line("OK"));
  }
  if (verbIs(buf, "lru_crawler")) return lruCrawler(r, buf, ntokens);
  if (verbIs(buf, "watch")) return watch(r, buf, ntokens);
  if (verbIs(buf, "lru")) {
    if (ntokens < 3) return r.outString(ERROR);
    return lru(r, buf, ntokens);
  }
  // An HTTP request line ("GET / HTTP/1.1") closes the connection.
  const last = t.count - 1;
  if (tokenLength(t, last) >= 5 && buf.toString("latin1", t.starts[last], t.starts[last]! + 5) === "HTTP/") {
    r.action = CLOSE_NOW;
    return;
  }
  r.outString(ERROR);
}

/** Is the command's verb (token 0) this word? */
function verbIs(buf: Buffer, w: string): boolean {
  return tokenIs(buf, tok, 0, w);
}

/** set_noreply_maybe: the last token is "noreply". */
function noreplyMaybe(r: Reply, buf: Buffer, ntokens: number): boolean {
  if (ntokens >= 2 && tokenIs(buf, tok, ntokens - 2, "noreply")) r.noreply = true;
  return r.noreply;
}

function keyOf(buf: Buffer, i: number): string {
  return buf.toString("latin1", tok.starts[i], tok.ends[i]);
}

/**
 * get/gets/gat/gats over every key of the line, without splitting it into
 * strings: keys are read between spaces, one lookup string per key.
 */
function get(s: ServerState, r: Reply, f: ServerFrame, withCas: boolean, touch: boolean, resumeAt: number): void {
  const buf = f.buf;
  const st = s.stats;
  let exptime = 0;
  let at = tok.ends[0]!;
  if (touch) {
    const e = cInt32(buf, tok.starts[1]!, tok.ends[1]!);
    if (e === undefined) return r.outString(line("CLIENT_ERROR invalid exptime argument"));
    exptime = s.clock.exptime(e);
    at = tok.ends[1]!;
  }
  if (resumeAt >= 0) at = resumeAt;
  const end = tok.lineEnd;
  for (;;) {
    while (at < end && buf[at] === 0x20) at++;
    if (at >= end) break;
    let k = at;
    while (k < end && buf[k] !== 0x20) k++;
    if (k - at > MAX_KEY_BYTES) return r.outString(BAD_FORMAT);
    const key = buf.toString("latin1", at, k);
    at = k;
    const it = s.store.get(key);
    if (touch) st.cmdTouch++;
    else st.cmdGet++;
    if (it === undefined) {
      if (touch) st.touchMisses++;
      else st.getMisses++;
      continue;
    }
    if (touch) {
      it.exptime = exptime;
      st.touchHits++;
    } else st.getHits++;
    s.store.bump(it);
    if (!withCas) r.push(it.block);
    else {
      r.push(Buffer.from(`VALUE ${key} ${it.flags} ${it.valueBytes} ${it.cas}\r\n`, "latin1"));
      r.push(it.block.subarray(it.valueAt));
    }
    // A get of many keys answers in batches, so its reply never holds more than a bound at once.
    if (r.batching && (r.bytes > GET_BATCH_BYTES || r.pieces.length > GET_BATCH_PIECES)) {
      r.resumeAt = at;
      return;
    }
  }
  r.push(END);
}

/** A multi-key get stops and resumes once its reply refers to this many bytes or pieces. */
const GET_BATCH_BYTES = 4 * 1024 * 1024;
const GET_BATCH_PIECES = 4096;

const STORE_REPLIES = [line("STORED"), line("NOT_STORED"), line("EXISTS"), line("NOT_FOUND")];

/** set/add/replace/append/prepend/cas (process_update_command, complete_nread_ascii). */
function update(s: ServerState, r: Reply, f: ServerFrame, ntokens: number, comm: number): void {
  const cas = comm === NREAD_CAS;
  if (cas ? ntokens !== 7 && ntokens !== 8 : ntokens !== 6 && ntokens !== 7) return r.outString(ERROR);
  const buf = f.buf;
  const t = tok;
  noreplyMaybe(r, buf, ntokens);
  if (tokenLength(t, 1) > MAX_KEY_BYTES) return r.outString(BAD_FORMAT);
  const flags = cUint32(buf, t.starts[2]!, t.ends[2]!);
  const exp = cInt32(buf, t.starts[3]!, t.ends[3]!);
  const vlen = cInt32(buf, t.starts[4]!, t.ends[4]!);
  if (flags < 0 || exp === undefined || vlen === undefined) return r.outString(BAD_FORMAT);
  let reqCas = 0n;
  if (cas) {
    const c = cUint64(buf, t.starts[5]!, t.ends[5]!);
    if (c === undefined) return r.outString(BAD_FORMAT);
    reqCas = c;
  }
  if (vlen < 0 || vlen > 0x7fffffff - 2) return r.outString(BAD_FORMAT);
  const key = keyOf(buf, 1);
  if (f.dataStart < 0 || itemTotalBytes(key.length, flags, vlen) > s.itemSizeMax) {
    // Too large: refused at the line; the framer discards the data.
    s.stats.storeTooLarge++;
    r.outString(line("SERVER_ERROR object too large for cache"));
    if (comm === NREAD_SET) {
      const old = s.store.get(key);
      if (old !== undefined) s.store.unlink(old);
    }
    return;
  }
  s.stats.cmdSet++;
  const dataEnd = f.dataStart + f.dataBytes;
  if (buf[dataEnd - 2] !== 0x0d || buf[dataEnd - 1] !== 0x0a) return r.outString(line("CLIENT_ERROR bad data chunk"));
  const it = s.store.make(key, flags, s.clock.exptime(exp), buf, f.dataStart, dataEnd - 2);
  const res = s.store.store(it, comm, reqCas);
  countStore(s, comm, res);
  r.outString(STORE_REPLIES[res]!);
}

export function countStore(s: ServerState, comm: number, res: number): void {
  if (comm !== NREAD_CAS) return;
  if (res === STORED) s.stats.casHits++;
  else if (res === EXISTS) s.stats.casBadval++;
  else if (res === NOT_FOUND) s.stats.casMisses++;
}

function touch(s: ServerState, r: Reply, buf: Buffer, ntokens: number): void {
  noreplyMaybe(r, buf, ntokens);
  if (tokenLength(tok, 1) > MAX_KEY_BYTES) return r.outString(BAD_FORMAT);
  const e = cInt32(buf, tok.starts[2]!, tok.ends[2]!);
  if (e === undefined) return r.outString(line("CLIENT_ERROR invalid exptime argument"));
  const it = s.store.get(keyOf(buf, 1));
  s.stats.cmdTouch++;
  if (it === undefined) {
    s.stats.touchMisses++;
    return r.outString(line("NOT_FOUND"));
  }
  it.exptime = s.clock.exptime(e);
  s.store.bump(it);
  s.stats.touchHits++;
  r.outString(line("TOUCHED"));
}

function arithmetic(s: ServerState, r: Reply, buf: Buffer, ntokens: number, incr: boolean): void {
  noreplyMaybe(r, buf, ntokens);
  if (tokenLength(tok, 1) > MAX_KEY_BYTES) return r.outString(BAD_FORMAT);
  const d = cUint64(buf, tok.starts[2]!, tok.ends[2]!);
  if (d === undefined) return r.outString(line("CLIENT_ERROR invalid numeric delta argument"));
  const res = s.store.addDelta(keyOf(buf, 1), incr, d, 0n, delta);
  const st = s.stats;
  switch (res) {
    case DELTA_NON_NUMERIC:
      return r.outString(line("CLIENT_ERROR cannot increment or decrement non-numeric value"));
    case DELTA_NOT_FOUND:
      if (incr) st.incrMisses++;
      else st.decrMisses++;
      return r.outString(line("NOT_FOUND"));
    case DELTA_CAS_MISMATCH:
      return;
    default:
      if (incr) st.incrHits++;
      else st.decrHits++;
      r.outString(Buffer.from(`${delta.value}\r\n`, "latin1"));
  }
}

function del(s: ServerState, r: Reply, buf: Buffer, ntokens: number): void {
  if (ntokens > 3) {
    const holdIsZero = tokenIs(buf, tok, 2, "0");
    const setsNoreply = noreplyMaybe(r, buf, ntokens);
    const valid = (ntokens === 4 && (holdIsZero || setsNoreply)) || (ntokens === 5 && holdIsZero && setsNoreply);
    if (!valid) return r.outString(line("CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]"));
  }
  if (tokenLength(tok, 1) > MAX_KEY_BYTES) return r.outString(BAD_FORMAT);
  const it = s.store.get(keyOf(buf, 1));
  if (it === undefined) {
    s.stats.deleteMisses++;
    return r.outString(line("NOT_FOUND"));
  }
  s.stats.deleteHits++;
  s.store.unlink(it);
  r.outString(line("DELETED"));
}

function flushAll(s: ServerState, r: Reply, buf: Buffer, ntokens: number): void {
  noreplyMaybe(r, buf, ntokens);
  s.stats.cmdFlush++;
  let exptime = 0;
  if (ntokens !== (r.noreply ? 3 : 2)) {
    const e = cInt32(buf, tok.starts[1]!, tok.ends[1]!);
    if (e === undefined) return r.outString(line("CLIENT_ERROR invalid exptime argument"));
    exptime = e;
  }
  s.store.flush(exptime);
  r.outString(line("OK"));
}

function statsReply(r: Reply, rows: [string, string][]): void {
  let text = "";
  for (const [n, v] of rows) text += `STAT ${n} ${v}\r\n`;
  r.outString(Buffer.from(text + "END\r\n", "latin1"));
}

function stats(s: ServerState, r: Reply, buf: Buffer, ntokens: number): void {
  if (ntokens === 2) return statsReply(r, generalStats(s.statsSource()));
  const sub = (w: string) => tokenIs(buf, tok, 1, w);
  if (sub("reset")) {
    const keep = { c: s.stats.currConnections, t: s.stats.totalConnections };
    for (const k of Object.keys(s.stats) as (keyof typeof s.stats)[]) s.stats[k] = 0;
    s.stats.currConnections = keep.c;
    s.stats.totalConnections = keep.t;
    return r.outString(line("RESET"));
  }
  if (sub("detail")) {
    if (ntokens < 4) return r.outString(line("CLIENT_ERROR usage: stats detail on|off|dump"));
    if (tokenIs(buf, tok, 2, "on") || tokenIs(buf, tok, 2, "off")) return r.outString(line("OK"));
    if (tokenIs(buf, tok, 2, "dump")) return r.outString(END);
    return r.outString(line("CLIENT_ERROR usage: stats detail on|off|dump"));
  }
  if (sub("settings")) return statsReply(r, settingsStats(s.statsSource()));
  if (sub("cachedump")) {
    if (ntokens < 5) return r.outString(line("CLIENT_ERROR bad command line"));
    const id = cUint32(buf, tok.starts[2]!, tok.ends[2]!);
    const limit = cUint32(buf, tok.starts[3]!, tok.ends[3]!);
    if (id < 0 || limit < 0) return r.outString(BAD_FORMAT);
    if (id >= 64) return r.outString(line("CLIENT_ERROR Illegal slab id"));
    let text = "";
    let n = 0;
    const src = s.statsSource();
    for (const it of src.items()) {
      if (classOf(it, s.itemSizeMax) !== id) continue;
      if (limit !== 0 && n >= limit) break;
      const exp = it.exptime === 0 ? 0 : it.exptime + s.clock.processStarted;
      text += `ITEM ${it.key} [${it.valueBytes} b; ${exp} s]\r\n`;
      n++;
    }
    return r.outString(Buffer.from(text + "END\r\n", "latin1"));
  }
  if (sub("items")) return statsReply(r, itemsStats(s.statsSource()));
  if (sub("slabs")) return statsReply(r, slabsStats(s.statsSource()));
  if (sub("sizes")) return statsReply(r, sizesStats());
  if (sub("conns")) return statsReply(r, []);
  r.outString(ERROR);
}

function slabs(r: Reply, buf: Buffer, ntokens: number): void {
  if (ntokens === 5 && tokenIs(buf, tok, 1, "reassign")) {
    if (
      cInt32(buf, tok.starts[2]!, tok.ends[2]!) === undefined ||
      cInt32(buf, tok.starts[3]!, tok.ends[3]!) === undefined
    )
      return r.outString(BAD_FORMAT);
    return r.outString(line("NOSPARE source class has no spare pages"));
  }
  if (ntokens >= 4 && tokenIs(buf, tok, 1, "automove")) {
    noreplyMaybe(r, buf, ntokens);
    if (tokenIs(buf, tok, 2, "ratio")) {
      if (ntokens < 5 || !Number.isFinite(Number(keyOf(buf, 3)))) return r.outString(ERROR);
      return r.outString(line("OK"));
    }
    const level = cUint32(buf, tok.starts[2]!, tok.ends[2]!);
    if (level < 0) return r.outString(BAD_FORMAT);
    return r.outString(level <= 2 ? line("OK") : ERROR);
  }
  r.outString(ERROR);
}

function memlimit(r: Reply, buf: Buffer, ntokens: number): void {
  if (ntokens !== 3 && ntokens !== 4) return r.outString(ERROR);
  noreplyMaybe(r, buf, ntokens);
  const mb = cUint32(buf, tok.starts[1]!, tok.ends[1]!);
  if (mb < 0) return r.outString(ERROR);
  if (mb < 8) return r.outString(line("MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m"));
  if (mb > 1_000_000_000) return r.outString(line("MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes"));
  r.outString(line("OK"));
}

function lruCrawler(r: Reply, buf: Buffer, ntokens: number): void {
  const sub = (w: string) => tokenIs(buf, tok, 1, w);
  if (ntokens === 4 && sub("crawl")) return r.outString(line("OK"));
  if (ntokens === 4 && sub("metadump")) return r.outString(line("ERROR metadump not allowed"));
  if (ntokens === 4 && (sub("tocrawl") || sub("sleep"))) {
    const n = cUint32(buf, tok.starts[2]!, tok.ends[2]!);
    if (n < 0) return r.outString(BAD_FORMAT);
    if (sub("sleep") && n > 1_000_000) return r.outString(line("CLIENT_ERROR sleep must be one second or less"));
    return r.outString(line("OK"));
  }
  if (ntokens === 3 && sub("enable")) return r.outString(line("ERROR failed to start lru crawler thread"));
  if (ntokens === 3 && sub("disable")) return r.outString(line("OK"));
  r.outString(ERROR);
}

const WATCH_KINDS = [
  "rawcmds",
  "evictions",
  "fetchers",
  "mutations",
  "sysevents",
  "connevents",
  "proxyreqs",
  "proxyevents",
  "proxyuser",
];

/** `watch [kinds…]`: OK, then the connection only listens (this server has no log stream to send). */
function watch(r: Reply, buf: Buffer, ntokens: number): void {
  noreplyMaybe(r, buf, ntokens);
  for (let i = 1; i < ntokens - 1; i++) {
    if (!WATCH_KINDS.some((k) => tokenIs(buf, tok, i, k))) return r.outString(ERROR);
  }
  r.outString(line("OK"));
  r.action = WATCH;
}

function lru(r: Reply, buf: Buffer, ntokens: number): void {
  noreplyMaybe(r, buf, ntokens);
  const sub = (w: string) => tokenIs(buf, tok, 1, w);
  if (sub("mode") && ntokens >= 4) {
    return r.outString(tokenIs(buf, tok, 2, "flat") || tokenIs(buf, tok, 2, "segmented") ? line("OK") : ERROR);
  }
  if (sub("temp_ttl") && ntokens >= 4) {
    return r.outString(cInt32(buf, tok.starts[2]!, tok.ends[2]!) === undefined ? ERROR : line("OK"));
  }
  r.outString(ERROR);
}
