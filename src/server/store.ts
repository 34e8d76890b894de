import { itemClasses, itemTotalBytes } from "./slabs.js";

/**
 * The embedded server's items, with memcached 1.6's rules: relative or
 * absolute expiry (the 30-day rule), flags, cas uniques, flush_all with a
 * delay, and the item-size limit counted the way memcached counts an item
 * (header, key, flags suffix, value + CRLF, cas). Memory is bounded by
 * `maxBytes`: the oldest items are evicted first.
 *
 * Time is memcached's: seconds since the server started (`current_time`),
 * with the start set 62 s in the past as memcached does, so that a
 * relative expiry and an absolute one agree.
 */
export interface Item {
  /** Key bytes as a latin1 string (any byte value, including from base64 keys). */
  key: string;
  flags: number;
  /** Server-relative expiry second; 0 never expires. */
  exptime: number;
  /** Last access (link or bump), server-relative seconds. */
  time: number;
  cas: number;
  /** "VALUE <key> <flags> <bytes>\r\n" + value + "\r\n", built once at store time: a `get` hit writes it as is. */
  block: Buffer;
  /** Offset of the value in `block`. */
  valueAt: number;
  valueBytes: number;
  fetched: boolean;
  /** Meta protocol state: a win token was handed out / the item is marked stale / the key came in base64. */
  tokenSent: boolean;
  stale: boolean;
  keyBinary: boolean;
}

/** memcached's default largest item (-I 1m), bytes. */
export const DEFAULT_ITEM_SIZE_MAX = 1024 * 1024;
/** memcached's default memory for items (-m 64), bytes. */
export const DEFAULT_MEMORY_BYTES = 64 * 1024 * 1024;

export const REALTIME_MAXDELTA = 60 * 60 * 24 * 30;
const ITEM_UPDATE_INTERVAL = 60;

export class ServerClock {
  /** Unix second memcached calls `process_started`. */
  readonly processStarted = Math.floor(Date.now() / 1000) - ITEM_UPDATE_INTERVAL - 2;

  /** memcached's `current_time`. */
  now(): number {
    return Math.floor(Date.now() / 1000) - this.processStarted;
  }

  /** memcached's `realtime()`: an exptime from a client → server-relative second (0: never). */
  realtime(exptime: number): number {
    if (exptime === 0) return 0;
    if (exptime > REALTIME_MAXDELTA) {
      if (exptime <= this.processStarted) return 1;
      return exptime - this.processStarted;
    }
    return exptime + this.now();
  }

  /** EXPTIME_TO_POSITIVE_TIME then realtime(): a negative exptime expires at once. */
  exptime(exptime: number): number {
    return this.realtime(exptime < 0 ? REALTIME_MAXDELTA + 1 : exptime);
  }
}

/** Outcome of a store, as memcached's `do_store_item` names it. */
export const STORED = 0;
export const NOT_STORED = 1;
export const EXISTS = 2;
export const NOT_FOUND = 3;

export const NREAD_SET = 0;
export const NREAD_ADD = 1;
export const NREAD_REPLACE = 2;
export const NREAD_APPEND = 3;
export const NREAD_PREPEND = 4;
export const NREAD_CAS = 5;

export const DELTA_OK = 0;
export const DELTA_NON_NUMERIC = 1;
export const DELTA_NOT_FOUND = 2;
export const DELTA_CAS_MISMATCH = 3;

export interface StoreCounters {
  getExpired: number;
  getFlushed: number;
  totalItems: number;
  evictions: number;
}

const U64 = (1n << 64n) - 1n;

export class ItemStore {
  private readonly items = new Map<string, Item>();
  private casCounter = 0;
  /** Bytes charged for the items held (memcached's `bytes` stat). */
  bytes = 0;
  /** flush_all state (settings.oldest_live / oldest_cas). */
  private oldestLive = 0;
  private oldestCas = 0;
  readonly counters: StoreCounters = { getExpired: 0, getFlushed: 0, totalItems: 0, evictions: 0 };
  /** Slab classes that have held memory, as memcached keeps their pages once allocated (`stats slabs`). */
  readonly classesUsed = new Set<number>();

  constructor(
    readonly clock: ServerClock,
    /** Memory for items (-m), bytes. */
    readonly maxBytes = DEFAULT_MEMORY_BYTES,
    /** Largest item (-I), bytes: an append or prepend may not grow an item beyond it. */
    readonly itemSizeMax = DEFAULT_ITEM_SIZE_MAX,
  ) {}

  get size(): number {
    return this.items.size;
  }

  nextCas(): number {
    return ++this.casCounter;
  }

  /** The live item for key, or undefined; expired or flushed items are removed on the way (do_item_get). */
  get(key: string): Item | undefined {
    const it = this.items.get(key);
    if (it === undefined) return undefined;
    const now = this.clock.now();
    if (this.oldestLive !== 0 && this.oldestLive <= now) {
      if (it.time <= this.oldestLive || (this.oldestCas !== 0 && it.cas !== 0 && it.cas < this.oldestCas)) {
        this.unlink(it);
        this.counters.getFlushed++;
        return undefined;
      }
    }
    if (it.exptime !== 0 && it.exptime <= now) {
      this.unlink(it);
      this.counters.getExpired++;
      return undefined;
    }
    return it;
  }

  /** A fetch that counts as an access (DO_UPDATE): marks the item fetched, refreshes its time once a minute. */
  bump(it: Item): void {
    it.fetched = true;
    const now = this.clock.now();
    if (it.time < now - ITEM_UPDATE_INTERVAL) it.time = now;
  }

  /**
   * Builds an item (not yet linked); `value` is copied. Like memcached's
   * item_alloc it takes memory from the item's slab classes, whether or
   * not the item is then stored.
   */
  make(key: string, flags: number, exptime: number, value: Buffer, from = 0, to = value.length): Item {
    for (const cls of itemClasses(key.length, flags, to - from, this.itemSizeMax)) this.classesUsed.add(cls);
    const head = `VALUE ${key} ${flags} ${to - from}\r\n`;
    const headBytes = head.length;
    const block = Buffer.allocUnsafeSlow(headBytes + (to - from) + 2);
    block.write(head, 0, "latin1");
    value.copy(block, headBytes, from, to);
    block[block.length - 2] = 0x0d;
    block[block.length - 1] = 0x0a;
    return {
      key,
      flags,
      exptime,
      time: 0,
      cas: 0,
      block,
      valueAt: headBytes,
      valueBytes: to - from,
      fetched: false,
      tokenSent: false,
      stale: false,
      keyBinary: false,
    };
  }

  /** Links `it` under its key, replacing any item there, with a new cas (do_item_link). */
  link(it: Item): void {
    const old = this.items.get(it.key);
    if (old !== undefined) this.unlink(old);
    it.time = this.clock.now();
    it.cas = this.nextCas();
    this.items.set(it.key, it);
    this.bytes += itemTotalBytes(it.key.length, it.flags, it.valueBytes);
    this.counters.totalItems++;
    this.evictIfFull(it);
  }

  unlink(it: Item): void {
    if (this.items.get(it.key) !== it) return;
    this.items.delete(it.key);
    this.bytes -= itemTotalBytes(it.key.length, it.flags, it.valueBytes);
  }

  /**
   * memcached's do_store_item: the cas check, then the mode. `reqCas` is the
   * client's cas (0: none). Append/prepend build a new item from both values.
   */
  store(it: Item, comm: number, reqCas: bigint, setStale = false): number {
    const old = this.get(it.key);
    if (old !== undefined) {
      let casRes: "none" | "match" | "stale" | "bad" = "none";
      if (reqCas !== 0n) {
        const oldCas = BigInt(old.cas);
        casRes = reqCas === oldCas ? "match" : setStale && reqCas < oldCas ? "stale" : "bad";
      }
      switch (comm) {
        case NREAD_ADD: {
          // do_item_update: a failed add refreshes the item's time, but does not mark it fetched.
          const now = this.clock.now();
          if (old.time < now - ITEM_UPDATE_INTERVAL) old.time = now;
          return NOT_STORED;
        }
        case NREAD_CAS:
          if (casRes === "match") break;
          if (casRes === "stale") {
            it.exptime = old.exptime;
            it.stale = true;
            it.tokenSent = old.tokenSent;
            break;
          }
          return EXISTS;
        case NREAD_APPEND:
        case NREAD_PREPEND: {
          if (casRes !== "none" && casRes !== "match") return EXISTS;
          // memcached allocates the joined item; when that is too large the answer is NOT_STORED.
          if (itemTotalBytes(it.key.length, old.flags, old.valueBytes + it.valueBytes) > this.itemSizeMax)
            return NOT_STORED;
          const a = comm === NREAD_APPEND ? old : it;
          const b = comm === NREAD_APPEND ? it : old;
          const joined = Buffer.concat([
            a.block.subarray(a.valueAt, a.valueAt + a.valueBytes),
            b.block.subarray(b.valueAt, b.valueAt + b.valueBytes),
          ]);
          const merged = this.make(it.key, old.flags, old.exptime, joined);
          merged.keyBinary = old.keyBinary;
          this.link(merged);
          return STORED;
        }
        default:
          break;
      }
      this.link(it);
      return STORED;
    }
    switch (comm) {
      case NREAD_ADD:
      case NREAD_SET:
        this.link(it);
        return STORED;
      case NREAD_CAS:
        return NOT_FOUND;
      default:
        return NOT_STORED;
    }
  }

  /**
   * memcached's do_add_delta: the value must be a decimal number (after
   * optional whitespace), incr wraps at 2^64, decr stops at 0. A shorter
   * result is padded with spaces to the old length, as memcached rewrites
   * the value in place. `out.value` gets the new value.
   */
  addDelta(key: string, incr: boolean, delta: bigint, reqCas: bigint, out: { value: bigint; item?: Item }): number {
    const it = this.get(key);
    if (it === undefined) return DELTA_NOT_FOUND;
    if (it.valueBytes === 0) return DELTA_NON_NUMERIC;
    if (reqCas !== 0n && BigInt(it.cas) !== reqCas) return DELTA_CAS_MISMATCH;
    const v = parseStoredNumber(it.block, it.valueAt, it.valueAt + it.valueBytes + 2);
    if (v === undefined) return DELTA_NON_NUMERIC;
    const value = incr ? (v + delta) & U64 : delta > v ? 0n : v - delta;
    const digits = value.toString();
    const width = Math.max(digits.length, it.valueBytes);
    const fresh = this.make(key, it.flags, it.exptime, Buffer.from(digits.padEnd(width, " "), "latin1"));
    // A shorter result keeps the old length, space-padded: memcached rewrites the value in place.
    fresh.fetched = it.fetched;
    fresh.keyBinary = it.keyBinary;
    const time = it.time;
    this.link(fresh);
    if (digits.length <= it.valueBytes) fresh.time = time;
    out.value = value;
    out.item = fresh;
    return DELTA_OK;
  }

  /** flush_all [delay] (process_flush_all_command): items older than the deadline become invisible. */
  flush(delaySec: number): void {
    const now = this.clock.now();
    const newOldest = delaySec > 0 ? this.clock.realtime(delaySec) : now;
    this.oldestLive = newOldest - 1;
    if (this.oldestLive <= now) this.oldestCas = this.nextCas();
  }

  /** Drops every item at once (the server's own reset, not a protocol command). */
  clear(): void {
    this.items.clear();
    this.bytes = 0;
  }

  /** Live items, for `stats items` and `stats sizes`. */
  *liveItems(): IterableIterator<Item> {
    for (const it of this.items.values()) if (this.get(it.key) === it) yield it;
  }

  private evictIfFull(keep: Item): void {
    if (this.bytes <= this.maxBytes) return;
    for (const it of this.items.values()) {
      if (this.bytes <= this.maxBytes) break;
      if (it === keep) continue;
      this.unlink(it);
      this.counters.evictions++;
    }
  }
}

/** safe_strtoull over a stored value ("123\r\n", "  7  \r\n"). */
function parseStoredNumber(buf: Buffer, from: number, to: number): bigint | undefined {
  let i = from;
  while (i < to && (buf[i] === 0x20 || (buf[i]! >= 0x09 && buf[i]! <= 0x0d))) i++;
  let negative = false;
  if (i < to && (buf[i] === 0x2b || buf[i] === 0x2d)) {
    negative = buf[i] === 0x2d;
    i++;
  }
  const d0 = i;
  let v = 0n;
  let small = 0;
  while (i < to && buf[i]! >= 0x30 && buf[i]! <= 0x39) {
    if (i - d0 < 15) small = small * 10 + (buf[i]! - 0x30);
    else {
      if (i - d0 === 15) v = BigInt(small);
      v = v * 10n + BigInt(buf[i]! - 0x30);
      if (v > U64) return undefined;
    }
    i++;
  }
  if (i === d0) return undefined;
  if (i - d0 <= 15) v = BigInt(small);
  const c = buf[i];
  if (!(c === 0x20 || c === 0 || (c !== undefined && c >= 0x09 && c <= 0x0d))) return undefined;
  if (negative) v = (U64 + 1n - v) & U64;
  if (v >= 1n << 63n && negative) return undefined;
  return v;
}
