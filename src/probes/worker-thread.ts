import { parentPort, workerData } from "node:worker_threads";
import { toThreadError } from "../util/errors.js";
import { runProbe, type ProbeProgress } from "./closed-loop.js";
import { runRateProbe } from "./open-loop.js";
import type { FromWorker, ToWorker, WorkerTask } from "./workers.js";
import { snapshotSink } from "../results/hdr-log.js";

/**
 * One shard of a `--workers` run, on its own thread: runs the probe it was
 * given, waits at the start gate for the main thread's common start, and
 * posts its result as plain JSON-ready data (the main thread merges it).
 */
const port = parentPort!;
const task = workerData as WorkerTask;
const abort = new AbortController();
let go: ((startAtMs: number) => void) | undefined;
const started = new Promise<number>((resolve) => (go = resolve));
let close: (() => void) | undefined;
const closing = new Promise<void>((resolve) => (close = resolve));

port.on("message", (m: ToWorker) => {
  if (m.type === "go") go?.(m.startAtMs);
  else if (m.type === "close") close?.();
  else {
    abort.abort();
    // Nothing to wait for any more: start (and stop, and close) at once.
    go?.(Date.now());
    close?.();
  }
});

const send = (m: FromWorker) => port.postMessage(m);
const common = {
  ...task.options,
  signal: abort.signal,
  onProgress: (progress: ProbeProgress) => send({ type: "progress", progress }),
  startAt: () => {
    send({ type: "ready" });
    return started;
  },
  beforeClose: () => {
    send({ type: "measured" });
    return closing;
  },
  onInterval: task.intervals ? snapshotSink((interval) => send({ type: "interval", interval })) : undefined,
};

try {
  const result =
    task.kind === "rate"
      ? await runRateProbe({ ...common, ratePerSec: task.options.ratePerSec!, durationMs: task.options.durationMs! })
      : await runProbe(common);
  // Through JSON: the result's non-enumerable parts stay behind, as in a file.
  send({ type: "result", result: JSON.parse(JSON.stringify(result)) as object });
} catch (err) {
  send({ type: "error", ...toThreadError(err) });
} finally {
  port.close();
}
