import { accessSync, closeSync, constants, openSync, statSync, writeFileSync, writeSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { McdiagError } from "../util/errors.js";

/**
 * Side files (`--hgrm`, `--junit`, `--html`, `--hdr-log`): checked for
 * writability before the run, so a long run never ends in "cannot write",
 * and written after the report has printed, so a failure there never loses
 * the report.
 */
export function checkSideFile(path: string, option: string): string {
  const full = resolve(path);
  let exists = true;
  try {
    if (statSync(full).isDirectory()) throw cannotWrite(path, option, "it is a directory");
  } catch (err) {
    if (err instanceof McdiagError) throw err;
    exists = false;
  }
  try {
    accessSync(exists ? full : dirname(full), constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT" ? `the folder ${dirname(path)} does not exist` : code === "EACCES" ? "permission denied" : code;
    throw cannotWrite(path, option, why ?? "not writable");
  }
  return path;
}

/** Writes a side file; a failure is a one-line CANNOT_WRITE error naming the option. */
export function writeSideFile(path: string, content: string | Buffer, option: string): void {
  try {
    writeFileSync(path, content);
  } catch (err) {
    throw cannotWrite(path, option, (err as NodeJS.ErrnoException).code ?? (err as Error).message);
  }
}

/**
 * A side file written while the run goes (`--hdr-log`: an interval a
 * second, so memory stays bounded however long the run). Checked and opened
 * before the run; a failed write stops the writing and is reported by
 * `close`, after the report has printed, so it never loses the report.
 */
export class StreamedSideFile {
  private fd: number | undefined;
  private failure: string | undefined;

  constructor(
    private readonly path: string,
    private readonly option: string,
  ) {
    checkSideFile(path, option);
    try {
      this.fd = openSync(path, "w");
    } catch (err) {
      throw cannotWrite(path, option, (err as NodeJS.ErrnoException).code ?? (err as Error).message);
    }
  }

  write(text: string): void {
    if (this.fd === undefined || this.failure !== undefined) return;
    try {
      writeSync(this.fd, text);
    } catch (err) {
      this.failure = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    }
  }

  /** Closes the file; throws CANNOT_WRITE if a write failed. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    if (this.failure !== undefined) throw cannotWrite(this.path, this.option, this.failure);
  }
}

function cannotWrite(path: string, option: string, why: string): McdiagError {
  return new McdiagError("CANNOT_WRITE", `${option}: cannot write ${path}: ${why}`, { option, file: path });
}
