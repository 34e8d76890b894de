import { createReadStream, statSync } from "node:fs";
import { once } from "node:events";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { McdiagError } from "../util/errors.js";

/** A stream of capture bytes: a file, stdin (`-`), gunzipped when the bytes are gzip. */
export interface ByteSource {
  name: string;
  /** Compressed or not, the size on disk when known (for progress). */
  sizeBytes: number | undefined;
  /**
   * The bytes. Iteration throws `SourceDamaged` for gzip data that is cut
   * short or damaged (everything before the damage has been yielded) and
   * McdiagError BAD_INPUT for a file that cannot be read.
   */
  chunks: AsyncIterable<Buffer>;
  /** Bytes read from disk/stdin so far (before gunzip), for progress. */
  readBytes(): number;
  /** Stops reading (on interruption): iteration ends soon after. */
  close(): void;
}

export function openSource(path: string): ByteSource {
  let raw: Readable;
  let sizeBytes: number | undefined;
  let name = path;
  if (path === "-") {
    raw = process.stdin;
    name = "stdin";
  } else {
    try {
      const st = statSync(path);
      if (st.isDirectory())
        throw new McdiagError("BAD_INPUT", `${path}: is a directory, not a capture file`, { file: path });
      sizeBytes = st.size;
    } catch (err) {
      if (err instanceof McdiagError) throw err;
      throw new McdiagError("BAD_INPUT", `${path}: ${errnoText((err as NodeJS.ErrnoException).code)}`, {
        file: path,
      });
    }
    raw = createReadStream(path, { highWaterMark: 256 * 1024 });
  }
  let read = 0;
  raw.on("data", (c: Buffer) => (read += c.length));
  return {
    name,
    sizeBytes,
    chunks: maybeGunzip(readable(raw, name), name),
    readBytes: () => read,
    close: () => raw.destroy(),
  };
}

function errnoText(code: string | undefined): string {
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES") return "permission denied";
  return `cannot read: ${code ?? "unknown error"}`;
}

/** The raw bytes; a read error (EIO, EISDIR on a pipe…) becomes a one-line BAD_INPUT. */
async function* readable(raw: Readable, name: string): AsyncGenerator<Buffer> {
  try {
    for await (const c of raw) yield c as Buffer;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    // Destroyed on purpose (interruption): just stop.
    if (e.code === "ERR_STREAM_PREMATURE_CLOSE" || raw.destroyed) return;
    throw new McdiagError("BAD_INPUT", `${name}: ${errnoText(e.code)}`, { file: name });
  }
}

/**
 * gzip input is written in pieces (see `gunzipPieces`): small ones at the
 * start, where a damaged small file would otherwise lose everything, larger
 * ones after; the last GZIP_TAIL_BYTES (where a bad trailer or junk sits) in
 * tiny ones.
 */
const GZIP_HEAD_BYTES = 64 * 1024;
const GZIP_HEAD_PIECE_BYTES = 256;
const GZIP_PIECE_BYTES = 16 * 1024;
const GZIP_TAIL_BYTES = 1024;
const GZIP_TAIL_PIECE_BYTES = 16;

/** Sniffs the gzip magic (1f 8b) on the first bytes and inflates when present. */
async function* maybeGunzip(raw: AsyncIterable<Buffer>, name: string): AsyncGenerator<Buffer> {
  const it = raw[Symbol.asyncIterator]();
  let first: Buffer | undefined;
  // The first read may be a single byte on a pipe: gather two.
  while (first === undefined || first.length < 2) {
    const n = await it.next();
    if (n.done) break;
    first = first === undefined ? n.value : Buffer.concat([first, n.value]);
  }
  if (first === undefined) return;
  const gz = first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b;
  const rest = async function* () {
    yield first;
    for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
  };
  if (!gz) {
    yield* rest();
    return;
  }
  const inflated = createGunzip();
  // The end comes only after the last piece was inflated: a piece still queued at the end
  // would be inflated with Z_FINISH and its output lost with the error.
  void (async () => {
    try {
      let last: Promise<void> = Promise.resolve();
      for await (const piece of gunzipPieces(rest())) {
        if (inflated.destroyed) return;
        last = new Promise<void>((resolve) => inflated.write(piece, () => resolve()));
        if (inflated.writableNeedDrain) await once(inflated, "drain");
      }
      await last;
      if (!inflated.destroyed) inflated.end();
    } catch (err) {
      inflated.destroy(err as Error);
    }
  })();
  try {
    for await (const chunk of inflated) yield chunk as Buffer;
  } catch (err) {
    if (err instanceof McdiagError) throw err;
    const msg = (err as Error).message;
    throw new SourceDamaged(
      /unexpected end of file/i.test(msg)
        ? `${name}: the gzip stream ends early (file cut short)`
        : `${name}: the gzip data is damaged (${msg})`,
    );
  }
}

/**
 * zlib reports damage (a bad CRC, trailing junk, a corrupt block) for one
 * write as a whole, and what that write inflated is lost with it. So the
 * input is written in bounded pieces, and its last bytes in tiny ones, the
 * 8-byte trailer alone: the damage then costs the output of one piece, not
 * the rest of the file.
 */
async function* gunzipPieces(input: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let tail = Buffer.alloc(0);
  let offset = 0;
  for await (const chunk of input) {
    const all = tail.length === 0 ? chunk : Buffer.concat([tail, chunk]);
    const keep = Math.max(0, all.length - GZIP_TAIL_BYTES);
    for (let i = 0; i < keep;) {
      const size = offset < GZIP_HEAD_BYTES ? GZIP_HEAD_PIECE_BYTES : GZIP_PIECE_BYTES;
      const end = Math.min(i + size, keep);
      yield all.subarray(i, end);
      offset += end - i;
      i = end;
    }
    tail = Buffer.from(all.subarray(keep));
  }
  const trailerAt = Math.max(0, tail.length - 8);
  for (let i = 0; i < trailerAt; i += GZIP_TAIL_PIECE_BYTES)
    yield tail.subarray(i, Math.min(i + GZIP_TAIL_PIECE_BYTES, trailerAt));
  if (tail.length > trailerAt) yield tail.subarray(trailerAt);
}

/** The compressed data ends early or is damaged; every byte before the damage was delivered. */
export class SourceDamaged extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SourceDamaged";
  }
}
