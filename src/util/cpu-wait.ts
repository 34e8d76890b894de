import { closeSync, openSync, readSync } from "node:fs";

/** The calling thread's scheduler counters (Linux; every thread, workers included, reads its own). */
const SCHEDSTAT_FILE = "/proc/thread-self/schedstat";

/**
 * How long this thread has waited, ready to run, for a CPU. A generator that
 * waits for a CPU issues its requests late and handles their replies late,
 * and neither is the server's doing: the client machine is short of cores.
 * Read through one descriptor with pread (about 2.5 µs, nothing allocated),
 * so it can be read around every sleep. Open it on the thread it measures.
 */
export class ThreadCpuWait {
  private readonly buf = Buffer.alloc(64);

  private constructor(private readonly fd: number) {}

  /** Undefined where the kernel does not say (not Linux, or no schedstats). */
  static open(): ThreadCpuWait | undefined {
    if (process.platform !== "linux") return undefined;
    let fd: number;
    try {
      fd = openSync(SCHEDSTAT_FILE, "r");
    } catch {
      return undefined;
    }
    const clock = new ThreadCpuWait(fd);
    if (clock.waitNs() >= 0) return clock;
    clock.close();
    return undefined;
  }

  /** ns waited since the thread started; −1 if the counters cannot be read. */
  waitNs(): number {
    let n: number;
    try {
      n = readSync(this.fd, this.buf, 0, this.buf.length, 0);
    } catch {
      return -1;
    }
    return waitNsOf(this.buf, n);
  }

  close(): void {
    try {
      closeSync(this.fd);
    } catch {
      // Already closed: nothing held.
    }
  }
}

/**
 * The second field of a schedstat line, "<ns on a CPU> <ns waiting on a run
 * queue> <time slices>", or −1 if the line is not one.
 */
export function waitNsOf(buf: Uint8Array, length: number): number {
  let field = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i < length; i++) {
    const c = buf[i]!;
    if (c >= 0x30 && c <= 0x39) {
      value = value * 10 + (c - 0x30);
      digits++;
    } else if (c === 0x20 && digits > 0) {
      if (field === 1) return value;
      field++;
      value = 0;
      digits = 0;
    } else {
      return -1;
    }
  }
  return -1;
}
