/**
 * A worker thread of a parallel analysis (parallel.ts): analyses a whole
 * input it is given (`run`), or its share of a capture split by flow
 * (`share`). Results, progress and errors go back as messages; an error as
 * one line of text (no stack crosses over).
 */
import { parentPort } from "node:worker_threads";
import { toThreadError } from "../util/errors.js";
import { analyzeCapture } from "./analyzer.js";
import type { MainMessage, WorkerMessage } from "./parallel.js";
import { pointBuffers } from "./share.js";
import { analyzeShare } from "./share-reader.js";

const port = parentPort!;
let stop: AbortController | undefined;

port.on("message", (m: MainMessage) => {
  switch (m.type) {
    case "stop":
      stop?.abort();
      return;
    case "run":
      void run(m);
      return;
    case "share":
      void share(m);
      return;
  }
});

async function run(m: Extract<MainMessage, { type: "run" }>): Promise<void> {
  stop = new AbortController();
  try {
    const result = await analyzeCapture({
      ...m.opts,
      input: m.job.input,
      signal: stop.signal,
      onProgress: (p) => post({ type: "progress", bytesRead: p.bytesRead, packets: p.packets }),
    });
    post({ type: "done", result });
  } catch (err) {
    fail(err);
  }
}

async function share(m: Extract<MainMessage, { type: "share" }>): Promise<void> {
  stop = new AbortController();
  try {
    const { result, share } = await analyzeShare({ ...m.opts, input: m.input, share: m.share, signal: stop.signal });
    port.postMessage({ type: "done", result, share } satisfies WorkerMessage, pointBuffers(share.points));
  } catch (err) {
    fail(err);
  }
}

function fail(err: unknown): void {
  post({ type: "error", ...toThreadError(err) });
}

function post(m: WorkerMessage): void {
  port.postMessage(m);
}
