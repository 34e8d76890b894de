/**
 * A worker thread of a parallel analysis (parallel.ts): analyses a whole
 * input it is given (`run`), or its share of a capture the main thread reads
 * and hands over in batches (`share`). Results, progress and errors go back
 * as messages; an error as one line of text (no stack crosses over).
 */
import { parentPort } from "node:worker_threads";
import { isMcdiagError } from "../util/errors.js";
import { Analysis, analyzeCapture } from "./analyzer.js";
import { newCapturedPacket } from "./packet.js";
import { readBatch } from "./packet-batch.js";
import type { MainMessage, WorkerMessage } from "./parallel.js";
import { pointBuffers } from "./share.js";

const port = parentPort!;
let stop: AbortController | undefined;
let share: Analysis | undefined;
const pk = newCapturedPacket();

port.on("message", (m: MainMessage) => {
  try {
    switch (m.type) {
      case "stop":
        stop?.abort();
        return;
      case "run":
        void run(m);
        return;
      case "share":
        share = new Analysis({ ...m.opts, input: "", share: m.share });
        return;
      case "batch":
        readBatch(m.buf, m.used, pk, share!);
        post({ type: "ack" });
        return;
      case "end": {
        const { result, facts } = share!.finish(m.read.name, m.read.info, m.read.interrupted);
        if (m.read.parts !== undefined) result.files = m.read.parts;
        const record = share!.shareRecord(result, facts);
        port.postMessage({ type: "done", result, share: record } satisfies WorkerMessage, pointBuffers(record.points));
        return;
      }
    }
  } catch (err) {
    fail(err);
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

function fail(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  post({ type: "error", code: isMcdiagError(err) ? err.code : undefined, message });
}

function post(m: WorkerMessage): void {
  port.postMessage(m);
}
