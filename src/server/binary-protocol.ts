import type { ServerFrame } from "./framer.js";
import { countStore } from "./text.js";
import { CLOSE_AFTER_WRITE, type Reply, type ServerState } from "./session.js";
import { itemTotalBytes } from "./slabs.js";
import { generalStats, itemsStats, settingsStats, sizesStats, slabsStats } from "./stats.js";
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
import { MAX_KEY_BYTES } from "../protocol/keys.js";

/**
 * memcached's binary protocol (proto_bin.c `dispatch_bin_command`): the
 * same shape checks, status codes and error texts, quiet variants that
 * answer only on failure (GetQ/GetKQ also on a hit), and Noop as their
 * flush point.
 */
const SUCCESS = 0x00;
const KEY_ENOENT = 0x01;
const KEY_EEXISTS = 0x02;
const E2BIG = 0x03;
const EINVAL = 0x04;
const NOT_STORED_ST = 0x05;
const DELTA_BADVAL = 0x06;
const UNKNOWN_COMMAND = 0x81;

const ERROR_TEXT: Record<number, string> = {
  [KEY_ENOENT]: "Not found",
  [KEY_EEXISTS]: "Data exists for key.",
  [E2BIG]: "Too large.",
  [EINVAL]: "Invalid arguments",
  [NOT_STORED_ST]: "Not stored.",
  [DELTA_BADVAL]: "Non-numeric server-side value for incr or decr",
  [UNKNOWN_COMMAND]: "Unknown command",
};

/** Quiet opcode → its loud twin (memcached answers the twin's way, minus success). */
const QUIET_TO_LOUD: Record<number, number> = {
  0x11: 0x01,
  0x12: 0x02,
  0x13: 0x03,
  0x14: 0x04,
  0x15: 0x05,
  0x16: 0x06,
  0x17: 0x07,
  0x18: 0x08,
  0x19: 0x0e,
  0x1a: 0x0f,
  0x09: 0x00,
  0x0d: 0x0c,
  0x1e: 0x1d,
  0x24: 0x23,
};

interface BinRequest {
  /** As sent: echoed in the response header. */
  opcode: number;
  /** The command it runs (a quiet opcode runs its loud twin). */
  cmd: number;
  opaque: number;
  cas: bigint;
  keylen: number;
  extlen: number;
  bodylen: number;
}
const req: BinRequest = { opcode: 0, cmd: 0, opaque: 0, cas: 0n, keylen: 0, extlen: 0, bodylen: 0 };
const delta = { value: 0n, item: undefined as Item | undefined };

/** A response header (+ extras, key, value pieces) into the reply. */
function respond(
  r: Reply,
  status: number,
  cas: number | bigint,
  extras: Buffer | undefined,
  key: Buffer | undefined,
  value: Buffer | undefined,
): void {
  const ext = extras?.length ?? 0;
  const kl = key?.length ?? 0;
  const vl = value?.length ?? 0;
  const h = Buffer.allocUnsafe(24 + ext + kl);
  h[0] = 0x81;
  h[1] = req.opcode;
  h.writeUInt16BE(kl, 2);
  h[4] = ext;
  h[5] = 0;
  h.writeUInt16BE(status, 6);
  h.writeUInt32BE(ext + kl + vl, 8);
  h.writeUInt32BE(req.opaque, 12);
  h.writeBigUInt64BE(BigInt(cas), 16);
  if (extras !== undefined) extras.copy(h, 24);
  if (key !== undefined) key.copy(h, 24 + ext);
  r.push(h);
  if (value !== undefined && vl > 0) r.push(value);
}

/** write_bin_error: sent even for quiet commands. */
function error(r: Reply, status: number): void {
  respond(r, status, 0, undefined, undefined, Buffer.from(ERROR_TEXT[status] ?? "", "latin1"));
}

/** write_bin_response: suppressed for quiet commands (except a GetQ/GetKQ hit). */
function ok(r: Reply, cas: number | bigint, extras?: Buffer, key?: Buffer, value?: Buffer): void {
  if (r.noreply && req.cmd !== 0x00 && req.cmd !== 0x0c) return;
  respond(r, SUCCESS, cas, extras, key, value);
}

export function executeBinary(s: ServerState, r: Reply, f: ServerFrame): void {
  const buf = f.buf;
  const at = f.start;
  req.opcode = buf[at + 1]!;
  req.keylen = buf.readUInt16BE(at + 2);
  req.extlen = buf[at + 4]!;
  req.bodylen = buf.readUInt32BE(at + 8);
  req.opaque = buf.readUInt32BE(at + 12);
  req.cas = buf.readBigUInt64BE(at + 16);
  const { keylen, extlen, bodylen } = req;
  const extAt = at + 24;
  const keyAt = extAt + extlen;
  if (keylen > bodylen || keylen + extlen > bodylen) {
    error(r, UNKNOWN_COMMAND);
    r.action = CLOSE_AFTER_WRITE;
    return;
  }
  r.noreply = true;
  if (keylen > MAX_KEY_BYTES) return protocolError(r);
  const loud = QUIET_TO_LOUD[req.opcode];
  req.cmd = loud ?? req.opcode;
  if (loud === undefined) r.noreply = false;
  const key = () => buf.toString("latin1", keyAt, keyAt + keylen);
  switch (req.cmd) {
    case 0x0b: // Version
      if (extlen !== 0 || keylen !== 0 || bodylen !== 0) return protocolError(r);
      return ok(r, 0, undefined, undefined, Buffer.from(s.version, "latin1"));
    case 0x08: // Flush
      if (keylen !== 0 || bodylen !== extlen || (extlen !== 0 && extlen !== 4)) return protocolError(r);
      s.store.flush(extlen === 4 ? buf.readUInt32BE(extAt) : 0);
      s.stats.cmdFlush++;
      return ok(r, 0);
    case 0x0a: // Noop
      if (extlen !== 0 || keylen !== 0 || bodylen !== 0) return protocolError(r);
      return ok(r, 0);
    case 0x01:
    case 0x02:
    case 0x03: // Set, Add, Replace
      if (extlen !== 8 || keylen === 0 || bodylen < keylen + 8) return protocolError(r);
      return update(s, r, f, key(), buf.readUInt32BE(extAt), buf.readUInt32BE(extAt + 4));
    case 0x0e:
    case 0x0f: // Append, Prepend
      if (keylen === 0 || extlen !== 0) return protocolError(r);
      return update(s, r, f, key(), 0, 0);
    case 0x00:
    case 0x0c: // Get, GetK
      if (extlen !== 0 || bodylen !== keylen || keylen === 0) return protocolError(r);
      return getOrTouch(s, r, buf, keyAt, false, 0);
    case 0x1c:
    case 0x1d:
    case 0x23: // Touch, GAT, GATK
      if (extlen !== 4 || keylen === 0) return protocolError(r);
      return getOrTouch(s, r, buf, keyAt, true, buf.readUInt32BE(extAt));
    case 0x04: // Delete
      if (keylen === 0 || extlen !== 0 || bodylen !== keylen) return protocolError(r);
      return del(s, r, key());
    case 0x05:
    case 0x06: // Increment, Decrement
      if (keylen === 0 || extlen !== 20 || bodylen !== keylen + extlen) return protocolError(r);
      return incr(s, r, buf, extAt, key());
    case 0x10: // Stat
      if (extlen !== 0) return protocolError(r);
      return stat(s, r, key());
    case 0x07: // Quit
      if (keylen !== 0 || extlen !== 0 || bodylen !== 0) return protocolError(r);
      ok(r, 0);
      r.action = CLOSE_AFTER_WRITE;
      return;
    case 0x20: // SASL list mechanisms
      if (extlen !== 0 || keylen !== 0 || bodylen !== 0) return protocolError(r);
      return error(r, UNKNOWN_COMMAND);
    case 0x21:
    case 0x22: // SASL auth, step
      if (extlen !== 0 || keylen === 0) return protocolError(r);
      return error(r, UNKNOWN_COMMAND);
    default:
      // Unknown opcodes: the framer discards the body.
      return error(r, UNKNOWN_COMMAND);
  }
}

/** handle_binary_protocol_error: EINVAL, then the connection closes. */
function protocolError(r: Reply): void {
  r.noreply = false;
  r.pieces.length = 0;
  r.bytes = 0;
  error(r, EINVAL);
  r.action = CLOSE_AFTER_WRITE;
}

function getOrTouch(s: ServerState, r: Reply, buf: Buffer, keyAt: number, touch: boolean, exptime: number): void {
  const op = req.cmd;
  const withKey = op === 0x0c || op === 0x23;
  const keyBuf = buf.subarray(keyAt, keyAt + req.keylen);
  const it = s.store.get(keyBuf.toString("latin1"));
  const st = s.stats;
  if (touch) st.cmdTouch++;
  else st.cmdGet++;
  if (it === undefined) {
    if (touch) st.touchMisses++;
    else st.getMisses++;
    if (r.noreply) return;
    if (withKey) respond(r, KEY_ENOENT, 0, undefined, Buffer.from(keyBuf), undefined);
    else error(r, KEY_ENOENT);
    return;
  }
  if (touch) {
    it.exptime = s.clock.realtime(exptime);
    st.touchHits++;
  } else st.getHits++;
  s.store.bump(it);
  const flags = Buffer.allocUnsafe(4);
  flags.writeUInt32BE(it.flags >>> 0);
  const value = op === 0x1c ? undefined : it.block.subarray(it.valueAt, it.valueAt + it.valueBytes);
  // Hits are answered even for GetQ/GetKQ/GATQ/GATKQ.
  respond(r, SUCCESS, it.cas, flags, withKey ? Buffer.from(keyBuf) : undefined, value);
}

function update(s: ServerState, r: Reply, f: ServerFrame, key: string, flags: number, exptime: number): void {
  const op = req.cmd;
  const isAppend = op === 0x0e || op === 0x0f;
  const vlen = req.bodylen - req.keylen - req.extlen;
  if (f.dataStart < 0 || itemTotalBytes(key.length, flags, vlen) > s.itemSizeMax) {
    s.stats.storeTooLarge++;
    r.noreply = false;
    error(r, E2BIG);
    if (op === 0x01) {
      const old = s.store.get(key);
      if (old !== undefined) s.store.unlink(old);
    }
    return;
  }
  s.stats.cmdSet++;
  const it = s.store.make(
    key,
    isAppend ? 0 : flags,
    isAppend ? 0 : s.clock.realtime(exptime),
    f.buf,
    f.dataStart,
    f.dataStart + vlen,
  );
  let comm =
    op === 0x01
      ? NREAD_SET
      : op === 0x02
        ? NREAD_ADD
        : op === 0x03
          ? NREAD_REPLACE
          : op === 0x0e
            ? NREAD_APPEND
            : NREAD_PREPEND;
  if (!isAppend && req.cas !== 0n) comm = NREAD_CAS;
  const res = s.store.store(it, comm, req.cas);
  countStore(s, comm, res);
  if (res === STORED) return ok(r, s.store.get(key)?.cas ?? 0);
  r.noreply = false;
  if (res === EXISTS) return error(r, KEY_EEXISTS);
  if (res === NOT_FOUND) return error(r, KEY_ENOENT);
  error(r, comm === NREAD_ADD ? KEY_EEXISTS : comm === NREAD_REPLACE ? KEY_ENOENT : NOT_STORED_ST);
}

function del(s: ServerState, r: Reply, key: string): void {
  const it = s.store.get(key);
  if (it === undefined) {
    s.stats.deleteMisses++;
    return error(r, KEY_ENOENT);
  }
  if (req.cas !== 0n && req.cas !== BigInt(it.cas)) return error(r, KEY_EEXISTS);
  s.stats.deleteHits++;
  s.store.unlink(it);
  ok(r, 0);
}

function incr(s: ServerState, r: Reply, buf: Buffer, extAt: number, key: string): void {
  const isIncr = req.cmd === 0x05;
  const d = buf.readBigUInt64BE(extAt);
  const initial = buf.readBigUInt64BE(extAt + 8);
  const expiration = buf.readUInt32BE(extAt + 16);
  const st = s.stats;
  const out = Buffer.allocUnsafe(8);
  switch (s.store.addDelta(key, isIncr, d, req.cas, delta)) {
    case DELTA_NON_NUMERIC:
      return error(r, DELTA_BADVAL);
    case DELTA_CAS_MISMATCH:
      return error(r, KEY_EEXISTS);
    case DELTA_NOT_FOUND: {
      if (expiration === 0xffffffff) {
        if (isIncr) st.incrMisses++;
        else st.decrMisses++;
        return error(r, KEY_ENOENT);
      }
      const it = s.store.make(key, 0, s.clock.realtime(expiration), Buffer.from(initial.toString(), "latin1"));
      if (s.store.store(it, NREAD_ADD, 0n) !== STORED) return error(r, NOT_STORED_ST);
      out.writeBigUInt64BE(initial);
      return ok(r, it.cas, undefined, undefined, out);
    }
    default:
      if (isIncr) st.incrHits++;
      else st.decrHits++;
      out.writeBigUInt64BE(delta.value);
      return ok(r, delta.item!.cas, undefined, undefined, out);
  }
}

/** One Stat packet per value, then an empty one. */
function stat(s: ServerState, r: Reply, sub: string): void {
  let rows: [string, string][];
  const src = s.statsSource();
  if (sub === "") rows = generalStats(src);
  else if (sub.startsWith("reset")) rows = [];
  else if (sub.startsWith("settings")) rows = settingsStats(src);
  else if (sub.startsWith("detail")) {
    const rest = sub.slice(6);
    if (!(rest.startsWith(" dump") || rest.startsWith(" on") || rest.startsWith(" off"))) return error(r, KEY_ENOENT);
    // The per-prefix dump is empty: this server keeps no prefix stats.
    rows = rest.startsWith(" dump") ? [["detailed", "END\r\n"]] : [];
  } else if (sub === "items") rows = itemsStats(src);
  else if (sub === "slabs") rows = slabsStats(src);
  else if (sub === "sizes") rows = sizesStats();
  else return error(r, KEY_ENOENT);
  for (const [n, v] of rows) respond(r, SUCCESS, 0, undefined, Buffer.from(n, "latin1"), Buffer.from(v, "latin1"));
  respond(r, SUCCESS, 0, undefined, undefined, undefined);
}
