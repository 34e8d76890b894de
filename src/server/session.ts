import { ItemStore, ServerClock } from "./store.js";
import { newServerStats, type ServerStats, type StatsSource } from "./stats.js";

/** What every connection shares: the items, the counters, the settings. */
export class ServerState {
  readonly clock = new ServerClock();
  readonly store: ItemStore;
  readonly stats: ServerStats = newServerStats();
  verbosity = 0;
  host = "127.0.0.1";
  port = 0;

  constructor(
    readonly itemSizeMax: number,
    maxBytes: number,
    readonly version: string,
  ) {
    this.store = new ItemStore(this.clock, maxBytes, itemSizeMax);
  }

  statsSource(): StatsSource {
    const st = this.store;
    return {
      stats: this.stats,
      version: this.version,
      port: this.port,
      host: this.host,
      maxBytes: st.maxBytes,
      itemSizeMax: this.itemSizeMax,
      verbosity: this.verbosity,
      processStarted: this.clock.processStarted,
      now: this.clock.now(),
      storeBytes: st.bytes,
      currItems: st.size,
      totalItems: st.counters.totalItems,
      evictions: st.counters.evictions,
      getExpired: st.counters.getExpired,
      getFlushed: st.counters.getFlushed,
      classesUsed: st.classesUsed,
      items: () => st.liveItems(),
    };
  }
}

/** After a command: go on, close once the replies are written, or close now without a reply. */
export const GO_ON = 0;
export const CLOSE_AFTER_WRITE = 1;
export const CLOSE_NOW = 2;
/** `watch`: the connection becomes a log watcher and reads no more commands. */
export const WATCH = 3;

/**
 * The reply of one command as it is built: pieces are written in order
 * without being copied (a stored value goes out as the stored Buffer).
 */
export class Reply {
  /** Reused: the connection writes them out before the next command is run. */
  readonly pieces: Buffer[] = [];
  bytes = 0;
  /** memcached's c->noreply: suppresses `outString`, not values. */
  noreply = false;
  action = GO_ON;
  /** Set by the connection: a multi-key get may stop part-way (bounded replies). */
  batching = false;
  /** Where a batched get stopped in its line (-1: it finished); the connection calls again from there. */
  resumeAt = -1;

  reset(): void {
    this.resumeAt = -1;
    this.pieces.length = 0;
    this.bytes = 0;
    this.noreply = false;
    this.action = GO_ON;
  }

  push(b: Buffer): void {
    this.pieces.push(b);
    this.bytes += b.length;
  }

  /** memcached's out_string: drops what was built so far; nothing at all under noreply. */
  outString(line: Buffer): void {
    this.pieces.length = 0;
    this.bytes = 0;
    if (!this.noreply) this.push(line);
  }

  /** memcached's out_errstring: an error the client sees even under noreply. */
  outError(line: Buffer): void {
    this.noreply = false;
    this.outString(line);
  }
}

const LINES = new Map<string, Buffer>();
/** "<text>\r\n" as a Buffer, interned for the fixed replies. */
export function line(text: string): Buffer {
  let b = LINES.get(text);
  if (b === undefined) {
    b = Buffer.from(text + "\r\n", "latin1");
    if (LINES.size < 256) LINES.set(text, b);
  }
  return b;
}
