import { cInt32, cUint32, cUint64 } from "./numbers.js";
import type { ServerFrame } from "./framer.js";
import { line, type Reply, type ServerState } from "./session.js";
import { classOf, itemBytes } from "./stats.js";
import {
  DELTA_CAS_MISMATCH,
  DELTA_NON_NUMERIC,
  DELTA_NOT_FOUND,
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
import { tokenIs, tokenLength, type Tokens } from "./tokens.js";
import { MAX_KEY_BYTES } from "../protocol/keys.js";

/**
 * memcached 1.6's meta commands (mg, ms, md, ma, mn, me), following
 * proto_text.c: flags are single letters, answered in the order they were
 * asked; `q` hides the nominal answer (mn flushes); `O` is echoed; `b`
 * carries a base64 key; `k` returns the key.
 */
const MAX_OPT_TOKENS = 20;
const MAX_OPAQUE = 32;
const BAD_FORMAT = line("CLIENT_ERROR bad command line format");
const OPAQUE_TOO_LONG = line("CLIENT_ERROR opaque token too long");

interface MetaFlags {
  noUpdate: boolean;
  locked: boolean;
  vivify: boolean;
  value: boolean;
  setStale: boolean;
  noReply: boolean;
  hasCas: boolean;
  newTtl: boolean;
  keyBinary: boolean;
  mode: number;
  exptime: number;
  autovivExptime: number;
  recacheTime: number;
  clientFlags: number;
  reqCas: bigint;
  delta: bigint;
  initial: bigint;
  /** The key after base64 decoding, as a latin1 string. */
  key: string;
}

function newFlags(): MetaFlags {
  return {
    noUpdate: false,
    locked: false,
    vivify: false,
    value: false,
    setStale: false,
    noReply: false,
    hasCas: false,
    newTtl: false,
    keyBinary: false,
    mode: 0,
    exptime: 0,
    autovivExptime: 0,
    recacheTime: 0,
    clientFlags: 0,
    reqCas: 0n,
    delta: 1n,
    initial: 0n,
    key: "",
  };
}

/** _meta_flag_preparse: reads the flags from token `from`; returns an error line, or undefined. */
function preparse(s: ServerState, buf: Buffer, t: Tokens, from: number, of: MetaFlags): string | undefined {
  const seen = new Uint8Array(128);
  let err: string | undefined;
  let hasError = false;
  of.key = buf.toString("latin1", t.starts[1], t.ends[1]);
  for (let i = from; i < t.count; i++) {
    const o = buf[t.starts[i]!]!;
    const a = t.starts[i]! + 1;
    const b = t.ends[i]!;
    if (o >= 127 || seen[o] !== 0) return "CLIENT_ERROR duplicate flag";
    /** The flag's 64-bit number, or undefined with the error noted. */
    const u64 = (error: string): bigint | undefined => {
      const v = cUint64(buf, a, b);
      if (v === undefined) {
        err = error;
        hasError = true;
      }
      return v;
    };
    seen[o] = 1;
    switch (String.fromCharCode(o)) {
      case "b": {
        const k = base64Decode(buf, t.starts[1]!, t.ends[1]!);
        if (k === undefined) {
          err = "CLIENT_ERROR error decoding key";
          hasError = true;
          of.key = "";
        } else of.key = k;
        of.keyBinary = true;
        break;
      }
      case "N":
      case "T":
      case "R": {
        of.locked = true;
        const v = cInt32(buf, a, b);
        if (v === undefined) {
          err = "CLIENT_ERROR bad token in command line format";
          hasError = true;
          break;
        }
        const when = s.clock.exptime(v);
        if (o === 0x4e) {
          of.vivify = true;
          of.autovivExptime = when;
        } else if (o === 0x54) {
          of.exptime = when;
          of.newTtl = true;
        } else of.recacheTime = when;
        break;
      }
      case "l":
      case "h":
        of.locked = true;
        break;
      case "O":
      case "P":
      case "L":
      case "k":
      case "s":
      case "t":
      case "c":
      case "f":
        break;
      case "v":
        of.value = true;
        break;
      case "u":
        of.noUpdate = true;
        break;
      case "q":
        of.noReply = true;
        break;
      case "F": {
        const v = cUint32(buf, a, b);
        if (v < 0) hasError = true;
        else of.clientFlags = v;
        break;
      }
      case "C": {
        const v = u64("CLIENT_ERROR bad token in command line format");
        if (v !== undefined) {
          of.reqCas = v;
          of.hasCas = true;
        }
        break;
      }
      case "M":
        if (b - a !== 1) {
          err = "CLIENT_ERROR incorrect length for M token";
          hasError = true;
        } else of.mode = buf[a]!;
        break;
      case "J":
        of.initial = u64("CLIENT_ERROR invalid numeric initial value") ?? of.initial;
        break;
      case "D":
        of.delta = u64("CLIENT_ERROR invalid numeric delta value") ?? of.delta;
        break;
      case "I":
        of.setStale = true;
        break;
      default:
        return "CLIENT_ERROR invalid flag";
    }
  }
  return hasError ? (err ?? "CLIENT_ERROR bad command line format") : undefined;
}

export function executeMeta(s: ServerState, r: Reply, f: ServerFrame, t: Tokens): void {
  const buf = f.buf;
  const ntokens = t.count + 1;
  switch (buf[t.starts[0]! + 1]) {
    case 0x67: // mg
      return mget(s, r, buf, t, ntokens);
    case 0x73: // ms
      return mset(s, r, f, t, ntokens);
    case 0x64: // md
      return mdelete(s, r, buf, t, ntokens);
    case 0x61: // ma
      return marithmetic(s, r, buf, t, ntokens);
    case 0x6e: // mn
      return r.outString(line("MN"));
    case 0x65: // me
      return mdebug(s, r, buf, t, ntokens);
    default:
      return r.outString(line("ERROR"));
  }
}

/** " k<key>", base64 with " b" when the key is binary (META_KEY). */
function metaKey(key: string, binary: boolean): string {
  return binary ? ` k${Buffer.from(key, "latin1").toString("base64")} b` : ` k${key}`;
}

/** The O and k flags, in request order: what every meta answer carries back. Undefined when an opaque is too long. */
/** What flag `i` echoes: " O…" for an opaque, the key for `k`, "" otherwise; undefined when the opaque is too long. */
function echoFlag(buf: Buffer, t: Tokens, i: number, key: string, binary: boolean): string | undefined {
  const c = buf[t.starts[i]!];
  if (c === 0x4f) {
    if (tokenLength(t, i) > MAX_OPAQUE) return undefined;
    return " " + buf.toString("latin1", t.starts[i], t.ends[i]);
  }
  return c === 0x6b ? metaKey(key, binary) : "";
}

/** The echoed flags (O, k) alone, for answers without an item; undefined when an opaque is too long. */
function echoFlags(buf: Buffer, t: Tokens, key: string, binary: boolean): string | undefined {
  let out = "";
  for (let i = 2; i < t.count; i++) {
    const echo = echoFlag(buf, t, i, key, binary);
    if (echo === undefined) return undefined;
    out += echo;
  }
  return out;
}

function ttl(it: Item, now: number): string {
  return it.exptime === 0 ? "-1" : String((it.exptime - now) >>> 0);
}

function mget(s: ServerState, r: Reply, buf: Buffer, t: Tokens, ntokens: number): void {
  if (ntokens < 3) return r.outString(line("ERROR"));
  if (tokenLength(t, 1) > MAX_KEY_BYTES) return r.outError(BAD_FORMAT);
  if (ntokens > MAX_OPT_TOKENS) return r.outError(line("CLIENT_ERROR options flags are too long"));
  const of = newFlags();
  const err = preparse(s, buf, t, 2, of);
  if (err !== undefined) return r.outError(line(err));
  r.noreply = of.noReply;
  const store = s.store;
  const st = s.stats;
  let it = store.get(of.key);
  if (it !== undefined && !of.locked && !of.noUpdate) store.bump(it);
  let created = false;
  if (it === undefined && of.vivify) {
    it = store.make(of.key, 0, 0, Buffer.alloc(0));
    it.keyBinary = of.keyBinary;
    store.link(it);
    created = true;
  }
  if (it === undefined) {
    if (of.newTtl) {
      st.cmdTouch++;
      st.touchMisses++;
    } else {
      st.cmdGet++;
      st.getMisses++;
    }
    const echo = echoFlags(buf, t, of.key, of.keyBinary);
    if (echo === undefined) return r.outError(OPAQUE_TOO_LONG);
    if (!r.noreply) r.push(Buffer.from(`EN${echo}\r\n`, "latin1"));
    return;
  }
  const now = s.clock.now();
  let head = of.value ? `VA ${it.valueBytes}` : "HD";
  let won = false;
  let ttlSet = false;
  for (let i = 2; i < t.count; i++) {
    switch (buf[t.starts[i]!]) {
      case 0x54: // T
        ttlSet = true;
        it.exptime = of.exptime;
        break;
      case 0x4e: // N
        if (created) {
          it.exptime = of.autovivExptime;
          won = true;
        }
        break;
      case 0x52: // R
        if (!it.tokenSent && !created && it.exptime !== 0 && it.exptime < of.recacheTime) won = true;
        break;
      case 0x73: // s
        head += ` s${it.valueBytes}`;
        break;
      case 0x74: // t
        head += ` t${ttl(it, now)}`;
        break;
      case 0x63: // c
        head += ` c${it.cas}`;
        break;
      case 0x66: // f
        head += ` f${it.flags}`;
        break;
      case 0x6c: // l
        head += ` l${(now - it.time) >>> 0}`;
        break;
      case 0x68: // h
        head += it.fetched ? " h1" : " h0";
        break;
      case 0x4f: // O
      case 0x6b /* k */: {
        const echo = echoFlag(buf, t, i, it.key, it.keyBinary);
        if (echo === undefined) return r.outError(OPAQUE_TOO_LONG);
        head += echo;
        break;
      }
    }
  }
  if (it.tokenSent) head += " Z";
  if (it.stale) {
    head += " X";
    if (!it.tokenSent) won = true;
  }
  if (won) {
    head += " W";
    it.tokenSent = true;
  }
  r.push(Buffer.from(head + "\r\n", "latin1"));
  if (of.value) r.push(it.block.subarray(it.valueAt));
  if (of.locked && !of.noUpdate) store.bump(it);
  if (ttlSet) {
    st.cmdTouch++;
    st.touchHits++;
  } else {
    st.cmdGet++;
    st.getHits++;
  }
}

const MSET_STATUS = ["HD", "NS", "EX", "NF"];

function mset(s: ServerState, r: Reply, f: ServerFrame, t: Tokens, ntokens: number): void {
  const buf = f.buf;
  if (ntokens < 3) return r.outString(line("ERROR"));
  if (tokenLength(t, 1) > MAX_KEY_BYTES) return r.outError(BAD_FORMAT);
  if (ntokens === 3) return r.outError(BAD_FORMAT);
  if (ntokens > MAX_OPT_TOKENS) return r.outError(line("CLIENT_ERROR options flags too long"));
  const vlen = cInt32(buf, t.starts[2]!, t.ends[2]!);
  if (vlen === undefined || vlen < 0 || vlen > 0x7fffffff - 2) return r.outError(BAD_FORMAT);
  // From here on every error leaves the data to be discarded (the framer already holds or drops it).
  const of = newFlags();
  let err = preparse(s, buf, t, 3, of);
  r.noreply = of.noReply;
  if (err === undefined) {
    for (let i = 3; i < t.count; i++) {
      if (buf[t.starts[i]!] === 0x4f && tokenLength(t, i) > MAX_OPAQUE) err = "CLIENT_ERROR opaque token too long";
    }
  }
  let comm = NREAD_SET;
  if (err === undefined) {
    switch (of.mode) {
      case 0:
      case 0x53: // S
        break;
      case 0x45: // E
        comm = NREAD_ADD;
        break;
      case 0x41: // A
        comm = NREAD_APPEND;
        break;
      case 0x50: // P
        comm = NREAD_PREPEND;
        break;
      case 0x52: // R
        comm = NREAD_REPLACE;
        break;
      default:
        err = "CLIENT_ERROR invalid mode for ms M token";
    }
  }
  if (of.hasCas && (comm === NREAD_SET || comm === NREAD_REPLACE)) comm = NREAD_CAS;
  if (err === undefined && (f.dataStart < 0 || itemTotalBytes(of.key.length, of.clientFlags, vlen) > s.itemSizeMax)) {
    err = "SERVER_ERROR object too large for cache";
    s.stats.storeTooLarge++;
    const old = s.store.get(of.key);
    if (old !== undefined) s.store.unlink(old);
  }
  if (err !== undefined) return r.outError(line(err));
  s.stats.cmdSet++;
  const dataEnd = f.dataStart + f.dataBytes;
  if (buf[dataEnd - 2] !== 0x0d || buf[dataEnd - 1] !== 0x0a) return r.outError(line("CLIENT_ERROR bad data chunk"));
  const it = s.store.make(of.key, of.clientFlags, of.exptime, buf, f.dataStart, dataEnd - 2);
  it.keyBinary = of.keyBinary;
  const res = s.store.store(it, comm, of.reqCas, of.setStale && comm === NREAD_CAS);
  const stored = res === STORED ? s.store.get(of.key) : undefined;
  if (res === STORED && r.noreply) return;
  r.noreply = false;
  let out = MSET_STATUS[res]!;
  for (let i = 3; i < t.count; i++) {
    const c = buf[t.starts[i]!];
    if (c === 0x4f) out += " " + buf.toString("latin1", t.starts[i], t.ends[i]);
    else if (c === 0x6b) out += metaKey(of.key, of.keyBinary);
    else if (c === 0x63) out += ` c${stored?.cas ?? 0}`;
  }
  r.push(Buffer.from(out + "\r\n", "latin1"));
}

function mdelete(s: ServerState, r: Reply, buf: Buffer, t: Tokens, ntokens: number): void {
  if (ntokens < 3) return r.outString(line("ERROR"));
  if (tokenLength(t, 1) > MAX_KEY_BYTES) return r.outString(BAD_FORMAT);
  if (ntokens > MAX_OPT_TOKENS) return r.outString(line("CLIENT_ERROR options flags too long"));
  const of = newFlags();
  if (preparse(s, buf, t, 2, of) !== undefined) return r.outError(line("CLIENT_ERROR invalid or duplicate flag"));
  r.noreply = of.noReply;
  const echo = echoFlags(buf, t, of.key, of.keyBinary);
  if (echo === undefined) return r.outError(OPAQUE_TOO_LONG);
  const it = s.store.get(of.key);
  let status: string;
  if (it === undefined) {
    s.stats.deleteMisses++;
    status = "NF";
  } else if (of.hasCas && BigInt(it.cas) !== of.reqCas) {
    s.stats.deleteMisses++;
    status = "EX";
  } else {
    if (of.setStale) {
      if (of.newTtl) it.exptime = of.exptime;
      it.stale = true;
      it.tokenSent = false;
      it.cas = s.store.nextCas();
    } else {
      s.stats.deleteHits++;
      s.store.unlink(it);
    }
    if (r.noreply) return;
    status = "HD";
  }
  r.push(Buffer.from(`${status}${echo}\r\n`, "latin1"));
}

const delta = { value: 0n, item: undefined as Item | undefined };

function marithmetic(s: ServerState, r: Reply, buf: Buffer, t: Tokens, ntokens: number): void {
  if (ntokens < 3) return r.outString(line("ERROR"));
  if (tokenLength(t, 1) > MAX_KEY_BYTES) return r.outString(BAD_FORMAT);
  if (ntokens > MAX_OPT_TOKENS) return r.outString(line("CLIENT_ERROR options flags too long"));
  const of = newFlags();
  if (preparse(s, buf, t, 2, of) !== undefined) return r.outError(line("CLIENT_ERROR invalid or duplicate flag"));
  r.noreply = of.noReply;
  let incr = true;
  switch (of.mode) {
    case 0:
    case 0x49: // I
    case 0x2b: // +
      break;
    case 0x44: // D
    case 0x2d: // -
      incr = false;
      break;
    default:
      return r.outError(line("CLIENT_ERROR invalid mode for ma M token"));
  }
  const st = s.stats;
  let it: Item | undefined;
  let digits = "";
  let status = "";
  let created = false;
  delta.item = undefined;
  switch (s.store.addDelta(of.key, incr, of.delta, of.reqCas, delta)) {
    case DELTA_NON_NUMERIC:
      return r.outError(line("CLIENT_ERROR cannot increment or decrement non-numeric value"));
    case DELTA_NOT_FOUND:
      if (of.vivify) {
        digits = of.initial.toString();
        it = s.store.make(of.key, 0, 0, Buffer.from(digits, "latin1"));
        it.keyBinary = of.keyBinary;
        s.store.store(it, NREAD_ADD, 0n);
        created = true;
      } else {
        if (incr) st.incrMisses++;
        else st.decrMisses++;
        status = "NF";
      }
      break;
    case DELTA_CAS_MISMATCH:
      status = "EX";
      break;
    default:
      if (incr) st.incrHits++;
      else st.decrHits++;
      if (r.noreply) {
        applyTtlFlags(buf, t, delta.item!, of, false);
        return;
      }
      it = delta.item;
      digits = delta.value.toString();
  }
  if (it === undefined) {
    const echo = echoFlags(buf, t, of.key, of.keyBinary);
    if (echo === undefined) return r.outError(OPAQUE_TOO_LONG);
    r.push(Buffer.from(`${status}${echo}\r\n`, "latin1"));
    return;
  }
  let out = of.value ? `VA ${digits.length}` : "HD";
  const now = s.clock.now();
  for (let i = 2; i < t.count; i++) {
    switch (buf[t.starts[i]!]) {
      case 0x63: // c
        out += ` c${it.cas}`;
        break;
      case 0x74: // t
        out += ` t${ttl(it, now)}`;
        break;
      case 0x54: // T
        it.exptime = of.exptime;
        break;
      case 0x4e: // N
        if (created) it.exptime = of.autovivExptime;
        break;
      case 0x4f: // O
      case 0x6b /* k */: {
        const echo = echoFlag(buf, t, i, of.key, of.keyBinary);
        if (echo === undefined) return r.outError(OPAQUE_TOO_LONG);
        out += echo;
        break;
      }
    }
  }
  if (of.value) out += "\r\n" + digits;
  r.push(Buffer.from(out + "\r\n", "latin1"));
}

/** Under q the answer is dropped, but T and N still apply. */
function applyTtlFlags(buf: Buffer, t: Tokens, it: Item, of: MetaFlags, created: boolean): void {
  for (let i = 2; i < t.count; i++) {
    const c = buf[t.starts[i]!];
    if (c === 0x54) it.exptime = of.exptime;
    else if (c === 0x4e && created) it.exptime = of.autovivExptime;
  }
}

function mdebug(s: ServerState, r: Reply, buf: Buffer, t: Tokens, ntokens: number): void {
  if (ntokens < 3 || tokenLength(t, 1) > MAX_KEY_BYTES) return r.outString(BAD_FORMAT);
  let key = buf.toString("latin1", t.starts[1], t.ends[1]);
  if (ntokens >= 4 && tokenIs(buf, t, 2, "b")) {
    const k = base64Decode(buf, t.starts[1]!, t.ends[1]!);
    if (k === undefined) return r.outString(BAD_FORMAT);
    key = k;
  }
  const it = s.store.get(key);
  s.stats.cmdMeta++;
  if (it === undefined) return r.outString(line("EN"));
  const now = s.clock.now();
  const shown = it.keyBinary ? Buffer.from(it.key, "latin1").toString("base64") : it.key;
  const exp = it.exptime === 0 ? -1 : (now - it.exptime) | 0;
  const size = itemBytes(it);
  r.outString(
    Buffer.from(
      `ME ${shown} exp=${exp} la=${now - it.time} cas=${it.cas} fetch=${it.fetched ? "yes" : "no"} ` +
        `cls=${classOf(it, s.itemSizeMax)} size=${size}\r\n`,
      "latin1",
    ),
  );
}

const B64 = new Int16Array(256).fill(-1);
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".split("").forEach((c, i) => {
  B64[c.charCodeAt(0)] = i;
});
B64[0x3d] = 0; // '='

/** memcached's base64_decode: bytes outside the alphabet are skipped; undefined when it fails. */
export function base64Decode(buf: Buffer, from: number, to: number): string | undefined {
  let count = 0;
  for (let i = from; i < to; i++) if (B64[buf[i]!]! >= 0) count++;
  if (count === 0 || count % 4 !== 0) return undefined;
  const out: number[] = [];
  const block = [0, 0, 0, 0];
  let n = 0;
  let pad = 0;
  for (let i = from; i < to; i++) {
    const v = B64[buf[i]!]!;
    if (v < 0) continue;
    if (buf[i] === 0x3d) pad++;
    block[n++] = v;
    if (n === 4) {
      out.push(((block[0]! << 2) | (block[1]! >> 4)) & 0xff);
      out.push(((block[1]! << 4) | (block[2]! >> 2)) & 0xff);
      out.push(((block[2]! << 6) | block[3]!) & 0xff);
      n = 0;
      if (pad) {
        if (pad === 1) out.pop();
        else if (pad === 2) out.splice(-2, 2);
        else return undefined;
        break;
      }
    }
  }
  if (out.length === 0) return undefined;
  return Buffer.from(out).toString("latin1");
}
