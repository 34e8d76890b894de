import { performance } from "node:perf_hooks";
import { metaNoopCommand, versionCommand, type PreparedCommand } from "../protocol/commands.js";
import type { ParsedResponse } from "../protocol/response-parser.js";
import { Fifo } from "../util/fifo.js";
import { Connection, ConnectError, type RequestHandler, type WriteStrategy } from "./connection.js";
import type { ErrorKind } from "./errors.js";

/** What a pool does on every checkout before handing the connection out. */
export type HealthCheck = "version" | "mn" | "none";
export const HEALTH_CHECKS: readonly HealthCheck[] = ["version", "mn", "none"];

export interface PoolOptions {
  host: string;
  port: number;
  size: number;
  noDelay: boolean;
  write: WriteStrategy;
  healthCheck: HealthCheck;
  connectTimeoutMs: number;
  /** Longest wait for a free connection before the checkout fails. */
  acquireTimeoutMs: number;
  /** Longest wait for a response (health check or request). */
  requestTimeoutMs: number;
  /** Hears of replies that answered no request (each closes its connection). */
  onStrayReply?: (conn: Connection, message: string) => void;
}

/**
 * A caller waiting for a connection. One object per caller, reused for every
 * checkout, so the hot path allocates nothing. The pool writes the
 * timestamps, all `performance.now()` milliseconds.
 */
export interface Checkout {
  askedMs: number;
  gotMs: number;
  /**
   * When the connection handed over had really become free (its last
   * response's estimated arrival), if it came straight from a release while
   * this caller waited; 0 otherwise. gotMs − max(askedMs, freedMs) is wait
   * spent on a connection that was already free.
   */
  freedMs: number;
  /** 0 when no health check ran. */
  hcSentMs: number;
  hcDoneMs: number;
  /** performance.now() at which the wait for a connection gives up. */
  acquireDeadlineMs: number;
  onConnection(conn: Connection): void;
  onCheckoutError(kind: ErrorKind, message: string): void;
}

/** A checkout's timestamps, zeroed; callers extend it with their handlers. */
export abstract class TimedCheckout implements Checkout {
  askedMs = 0;
  gotMs = 0;
  freedMs = 0;
  hcSentMs = 0;
  hcDoneMs = 0;
  acquireDeadlineMs = 0;
  abstract onConnection(conn: Connection): void;
  abstract onCheckoutError(kind: ErrorKind, message: string): void;
}

export interface PoolStats {
  size: number;
  /** Checked out, health check included. */
  busy: number;
  idle: number;
  /** Callers queued for a connection. */
  waiting: number;
  connecting: number;
}

/** Time-weighted means of busy and waiting since `resetAverages()`. */
export interface PoolAverages {
  busy: number;
  waiting: number;
  windowMs: number;
}

/**
 * A bounded pool: at most `size` connections, FIFO waiters, a health check
 * on every checkout, a dead or failing connection replaced on the next
 * demand. One interval timer enforces every deadline (no timer per request).
 */
export class Pool implements RequestHandler {
  readonly options: PoolOptions;
  /** TCP_NODELAY as read back from the first connection opened. */
  noDelayReadBack: boolean | undefined;
  private readonly all = new Set<Connection>();
  private readonly idle = new Fifo<Connection>();
  private readonly waiters = new Fifo<Checkout>();
  private readonly hcCommand: PreparedCommand | undefined;
  private connecting = 0;
  private busy = 0;
  private closing = false;
  private readonly timer: NodeJS.Timeout;
  // Areas under the busy/waiting curves (count × ms) for exact time averages.
  private areaBusy = 0;
  private areaWaiting = 0;
  private lastChangeMs = performance.now();
  private windowStartMs = this.lastChangeMs;

  constructor(options: PoolOptions) {
    if (!(options.size >= 1)) throw new RangeError("pool size must be at least 1");
    this.options = options;
    this.hcCommand =
      options.healthCheck === "version"
        ? versionCommand()
        : options.healthCheck === "mn"
          ? metaNoopCommand()
          : undefined;
    const tickMs = Math.max(
      5,
      Math.min(50, Math.floor(Math.min(options.requestTimeoutMs, options.acquireTimeoutMs) / 4)),
    );
    this.timer = setInterval(() => this.sweep(), tickMs);
    this.timer.unref();
  }

  stats(): PoolStats {
    return {
      size: this.options.size,
      busy: this.busy,
      idle: this.idle.length,
      waiting: this.waiters.length,
      connecting: this.connecting,
    };
  }

  resetAverages(): void {
    this.account();
    this.areaBusy = 0;
    this.areaWaiting = 0;
    this.windowStartMs = this.lastChangeMs;
  }

  averages(): PoolAverages {
    this.account();
    const windowMs = this.lastChangeMs - this.windowStartMs;
    return windowMs > 0
      ? { busy: this.areaBusy / windowMs, waiting: this.areaWaiting / windowMs, windowMs }
      : { busy: this.busy, waiting: this.waiters.length, windowMs: 0 };
  }

  /** Asks for a connection; the checkout hears back exactly once. */
  acquire(w: Checkout): void {
    const now = performance.now();
    w.askedMs = now;
    w.freedMs = 0;
    w.hcSentMs = 0;
    w.hcDoneMs = 0;
    w.acquireDeadlineMs = now + this.options.acquireTimeoutMs;
    if (this.closing) {
      w.onCheckoutError("closed", "pool is closing");
      return;
    }
    const conn = this.takeIdle();
    if (conn !== undefined) {
      this.checkout(conn, w, 0, now);
      return;
    }
    this.account(now);
    this.waiters.push(w);
    this.growIfNeeded();
  }

  /**
   * Returns a connection. `reusable` false (or a closed connection) drops it;
   * the pool opens a replacement when a caller needs one.
   */
  release(conn: Connection, reusable = true): void {
    const now = performance.now();
    this.account(now);
    this.busy--;
    conn.owner = undefined;
    if (!reusable || conn.closed || this.closing) {
      this.drop(conn);
      this.growIfNeeded();
      return;
    }
    const w = this.waiters.shift();
    if (w !== undefined) this.checkout(conn, w, conn.freedMs, now);
    else this.idle.push(conn);
  }

  /**
   * Opens connections until `count` are idle (or all slots are used), for
   * warm-up before measuring. Rejects with the first connect failure.
   */
  async prefill(count: number): Promise<Connection[]> {
    const want = Math.min(count, this.options.size);
    const opened: Connection[] = [];
    while (this.all.size + this.connecting < want) {
      this.connecting++;
      try {
        const c = await Connection.open(this.options);
        this.noDelayReadBack ??= c.noDelay;
        this.all.add(c);
        opened.push(c);
        this.idle.push(c);
      } finally {
        this.connecting--;
      }
    }
    return opened;
  }

  /** Closes every connection (FIN) and fails queued callers. */
  close(): void {
    this.closing = true;
    clearInterval(this.timer);
    for (let w = this.waiters.shift(); w !== undefined; w = this.waiters.shift()) {
      w.onCheckoutError("closed", "pool closed while waiting");
    }
    for (const c of this.all) c.end();
    this.all.clear();
    while (this.idle.shift() !== undefined);
  }

  // ---- health check responses (the pool is the handler) ----

  onResponse(conn: Connection, res: ParsedResponse, doneMs: number): void {
    const w = conn.owner as Checkout;
    const ok =
      this.options.healthCheck === "version"
        ? res.kind === "version"
        : res.kind === "meta" && res.message.startsWith("MN");
    if (ok) {
      w.hcDoneMs = doneMs;
      w.onConnection(conn);
      return;
    }
    const what =
      res.kind === "error" ? "ERROR (unknown command)" : `${res.kind}${res.message ? " " + res.message : ""}`;
    this.failCheckout(conn, w, "healthcheck_failed", `health check '${this.options.healthCheck}' answered ${what}`);
  }

  onFailure(conn: Connection, kind: ErrorKind, message: string): void {
    const w = conn.owner as Checkout;
    const why =
      kind === "closed" || kind === "reset"
        ? `the server ${kind === "reset" ? "reset" : "closed"} the connection on health check '${this.options.healthCheck}' (does it support that command?)`
        : message;
    this.failCheckout(
      conn,
      w,
      kind === "timeout" ? "timeout" : kind === "closed" || kind === "reset" ? kind : "healthcheck_failed",
      why,
    );
  }

  // ---- internals ----

  private failCheckout(conn: Connection, w: Checkout, kind: ErrorKind, message: string): void {
    this.release(conn, false);
    w.onCheckoutError(kind, message);
  }

  /** `now` is the caller's clock reading: one read per pool operation, no more. */
  private checkout(conn: Connection, w: Checkout, freedMs: number, now: number): void {
    this.account(now);
    this.busy++;
    conn.owner = w;
    w.gotMs = now;
    w.freedMs = freedMs;
    if (this.hcCommand === undefined) {
      w.onConnection(conn);
      return;
    }
    w.hcSentMs = now;
    conn.send(this.hcCommand, this, this.options.requestTimeoutMs, now);
  }

  private takeIdle(): Connection | undefined {
    for (let c = this.idle.shift(); c !== undefined; c = this.idle.shift()) {
      if (!c.closed) return c;
      this.drop(c);
    }
    return undefined;
  }

  private drop(conn: Connection): void {
    conn.destroy();
    this.all.delete(conn);
  }

  /** Opens a connection when callers wait and a slot is free. */
  private growIfNeeded(): void {
    while (
      !this.closing &&
      this.waiters.length > this.connecting &&
      this.all.size + this.connecting < this.options.size
    ) {
      this.connecting++;
      Connection.open(this.options).then(
        (conn) => {
          this.connecting--;
          if (this.closing) {
            conn.end();
            return;
          }
          this.noDelayReadBack ??= conn.noDelay;
          this.all.add(conn);
          const w = this.waiters.shift();
          if (w !== undefined) this.checkout(conn, w, 0, performance.now());
          else this.idle.push(conn);
        },
        (err: unknown) => {
          this.connecting--;
          const w = this.waiters.shift();
          if (w !== undefined) {
            this.account();
            const kind = err instanceof ConnectError ? err.kind : "connect_error";
            w.onCheckoutError(kind, err instanceof Error ? err.message : String(err));
          }
        },
      );
    }
  }

  private sweep(): void {
    const now = performance.now();
    for (const c of this.all) c.checkDeadline(now);
    for (let w = this.waiters.peek(); w !== undefined && now > w.acquireDeadlineMs; w = this.waiters.peek()) {
      this.account();
      this.waiters.shift();
      w.onCheckoutError("acquire_timeout", `no free connection within ${this.options.acquireTimeoutMs} ms`);
    }
  }

  /** Adds the time since the last change to the busy/waiting areas. */
  private account(now = performance.now()): void {
    const dt = now - this.lastChangeMs;
    if (dt > 0) {
      this.areaBusy += this.busy * dt;
      this.areaWaiting += this.waiters.length * dt;
      this.lastChangeMs = now;
    }
  }
}
