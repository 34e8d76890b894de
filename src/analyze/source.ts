import { createReadStream, statSync } from "node:fs";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { McdiagError } from "../util/errors.js";

/** A stream of capture bytes: a file, stdin (`-`), gunzipped when the bytes are gzip. */
export interface ByteSource {
  name: string;
  /** Compressed or not, the size on disk when known (for progress). */
  sizeBytes: number | undefined;
  chunks: AsyncIterable<Buffer>;
  /** Bytes read from disk/stdin so far (before gunzip), for progress. */
  readBytes(): number;
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
      const code = (err as NodeJS.ErrnoException).code;
      throw new McdiagError(
        "BAD_INPUT",
        `${path}: ${code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : String(code)}`,
        {
          file: path,
        },
      );
    }
    raw = createReadStream(path, { highWaterMark: 256 * 1024 });
  }
  let read = 0;
  raw.on("data", (c: Buffer) => (read += c.length));
  return { name, sizeBytes, chunks: maybeGunzip(raw, name), readBytes: () => read };
}

/** Sniffs the gzip magic (1f 8b) on the first bytes and inflates when present. */
async function* maybeGunzip(raw: Readable, name: string): AsyncGenerator<Buffer> {
  const it = raw[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let first: Buffer | undefined;
  // The first read may be a single byte on a pipe: gather two.
  while (first === undefined || first.length < 2) {
    const n = await it.next();
    if (n.done) break;
    first = first === undefined ? n.value : Buffer.concat([first, n.value]);
  }
  if (first === undefined) return;
  const gz = first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b;
  if (!gz) {
    yield first;
    for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
    return;
  }
  const gunzip = createGunzip();
  const rest = async function* () {
    yield first;
    for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
  };
  const inflated = Readable.from(rest()).pipe(gunzip);
  try {
    for await (const chunk of inflated) yield chunk as Buffer;
  } catch (err) {
    const msg = (err as Error).message;
    // A gzip file cut short still gave us what was before the cut.
    if (/unexpected end of file/i.test(msg)) throw new GzipTruncated(name);
    throw new McdiagError("BAD_INPUT", `${name}: gzip data is damaged (${msg})`, { file: name });
  }
}

export class GzipTruncated extends Error {
  constructor(readonly file: string) {
    super(`${file}: the gzip stream ends early (file cut short)`);
  }
}
