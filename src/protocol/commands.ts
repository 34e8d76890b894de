import { assertValidKey } from "./keys.js";

/**
 * A request built once and sent many times. `whole` is the exact bytes of the
 * command; `tokens` are views into `whole` cut where a token-by-token client
 * would cut them (verb and separator, each argument, the line end, a data
 * block), so the split write strategy sends the same bytes in pieces.
 * Both are owned by the command and never modified after construction.
 */
export interface PreparedCommand {
  readonly verb: string;
  readonly whole: Buffer;
  readonly tokens: readonly Buffer[];
  /** For a single-key retrieval: the key's bytes (a view into `whole`), which a VALUE reply must carry. */
  readonly key?: Buffer;
}

const CRLF = "\r\n";

/**
 * Builds a command from its text pieces. A command with no arguments
 * (`version`, `mn`, `stats`) is one token: the story's client wrote its health
 * check whole, and so do most clients.
 */
function prepare(verb: string, pieces: (string | Buffer)[]): PreparedCommand {
  const parts = pieces.map((p) => (typeof p === "string" ? Buffer.from(p, "utf8") : p));
  const whole = Buffer.concat(parts);
  const tokens: Buffer[] = [];
  if (parts.length === 1) {
    tokens.push(whole);
  } else {
    let at = 0;
    for (const p of parts) {
      tokens.push(whole.subarray(at, at + p.length));
      at += p.length;
    }
  }
  return { verb, whole, tokens };
}

/** `get k1 [k2 …]`: "get ", "k1", " k2", …, "\r\n". */
export function getCommand(keys: string | readonly string[]): PreparedCommand {
  const list = typeof keys === "string" ? [keys] : keys;
  if (list.length === 0) throw new RangeError("get needs at least one key");
  for (const k of list) assertValidKey(k, "get");
  const pieces: string[] = ["get "];
  list.forEach((k, i) => pieces.push(i === 0 ? k : " " + k));
  pieces.push(CRLF);
  const cmd = prepare("get", pieces);
  return list.length === 1 ? { ...cmd, key: cmd.tokens[1]! } : cmd;
}

export function versionCommand(): PreparedCommand {
  return prepare("version", ["version" + CRLF]);
}

/** Meta no-op: answered with `MN`; a cheap health check on memcached ≥ 1.6. */
export function metaNoopCommand(): PreparedCommand {
  return prepare("mn", ["mn" + CRLF]);
}

export function statsCommand(group?: string): PreparedCommand {
  return group === undefined ? prepare("stats", ["stats" + CRLF]) : prepare("stats", ["stats ", group, CRLF]);
}

export interface StoreOptions {
  flags?: number;
  exptimeSec?: number;
  noreply?: boolean;
}

/** `set <key> <flags> <exptime> <bytes>\r\n<data>\r\n`. */
export function setCommand(key: string, value: Buffer | string, opts: StoreOptions = {}): PreparedCommand {
  assertValidKey(key, "set");
  const data = typeof value === "string" ? Buffer.from(value, "utf8") : value;
  const tail = ` ${opts.flags ?? 0} ${opts.exptimeSec ?? 0} ${data.length}${opts.noreply ? " noreply" : ""}`;
  return prepare("set", ["set ", key, tail, CRLF, data, CRLF]);
}
