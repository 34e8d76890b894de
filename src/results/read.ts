import { closeSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { McdiagError } from "../util/errors.js";
import { recordKindOf, type RecordKind } from "./record.js";

/** The largest result file read (a long sweep of --rate steps is a few MB). */
export const MAX_RESULT_FILE_BYTES = 64 * 1024 * 1024;
/** The most files one merge reads. */
export const MAX_RESULT_FILES = 10_000;

export interface LoadedResult {
  file: string;
  kind: RecordKind;
  doc: Record<string, unknown>;
}

/**
 * The results named on the command line: files, or directories, whose every
 * regular file (hidden ones aside) is read, in name order. Every file must
 * be a complete mcdiag result: one that is empty, cut short, not JSON, or not
 * a result is a BAD_INPUT error naming it, never skipped.
 */
export function readResults(paths: readonly string[]): LoadedResult[] {
  const files: string[] = [];
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch (err) {
      throw bad(p, (err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or directory" : String(err));
    }
    if (st.isDirectory()) {
      const inDir = readdirSync(p, { withFileTypes: true })
        .filter((e) => !e.name.startsWith(".") && (e.isFile() || e.isSymbolicLink()))
        .map((e) => join(p, e.name))
        .sort();
      if (inDir.length === 0) throw bad(p, "the directory holds no result files");
      files.push(...inDir);
    } else files.push(p);
    if (files.length > MAX_RESULT_FILES) throw bad(p, `more than ${MAX_RESULT_FILES} files`);
  }
  return files.map(readOne);
}

/** One result file, or stdin for `-` (what `report` reads). */
export function readResult(file: string): LoadedResult {
  return file === "-" ? parseResult("stdin", readStdinBounded()) : readOne(file);
}

function readOne(file: string): LoadedResult {
  return parseResult(file, readBounded(file));
}

function parseResult(file: string, text: string): LoadedResult {
  if (text.trim() === "") throw bad(file, "empty");
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    // Node names the position; an error at the very end means the file stops mid-document.
    // V8 quotes the bytes it stopped at: control characters (a binary file's) would break the one line.
    // eslint-disable-next-line no-control-regex -- control characters are what this replaces
    const msg = (err as Error).message.replace(/[\u0000-\u001f\u007f-\u009f\ufffd]/g, "?");
    const at = /position (\d+)/.exec(msg);
    const atEnd = at !== null && Number(at[1]) >= text.trimEnd().length - 1;
    const cut = atEnd || /Unexpected end|Unterminated/i.test(msg) ? " (cut short?)" : "";
    throw bad(file, `not valid JSON${cut}: ${msg}`);
  }
  const kind = recordKindOf(doc, file);
  return { file, kind, doc: doc as Record<string, unknown> };
}

function readBounded(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw bad(
      file,
      code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (code ?? String(err)),
    );
  }
  try {
    const size = statSync(file).size;
    if (size > MAX_RESULT_FILE_BYTES)
      throw bad(file, `${size} bytes, more than the ${MAX_RESULT_FILE_BYTES} a result may have`);
    const buf = Buffer.alloc(size);
    let at = 0;
    while (at < size) {
      const n = readSync(fd, buf, at, size - at, at);
      if (n === 0) break;
      at += n;
    }
    return buf.toString("utf8", 0, at);
  } finally {
    closeSync(fd);
  }
}

/** stdin, refused once it passes the size a result may have. */
function readStdinBounded(): string {
  const chunks: Buffer[] = [];
  const chunk = Buffer.alloc(1 << 16);
  let total = 0;
  for (;;) {
    let n: number;
    try {
      n = readSync(0, chunk, 0, chunk.length, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EAGAIN") continue;
      if (code === "EOF") break;
      throw bad("stdin", `cannot read it: ${code ?? String(err)}`);
    }
    if (n === 0) break;
    total += n;
    if (total > MAX_RESULT_FILE_BYTES)
      throw bad("stdin", `more than the ${MAX_RESULT_FILE_BYTES} bytes a result may have`);
    chunks.push(Buffer.from(chunk.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString("utf8");
}

function bad(file: string, why: string): McdiagError {
  return new McdiagError("BAD_INPUT", `${file}: ${why}`, { file });
}
