import type { Command } from "commander";
import { htmlReport, type ReportKind } from "../report/html/index.js";
import { checkSideFile, writeSideFile } from "./side-files.js";
import { VERSION } from "./version.js";

/** `--html FILE` on the commands that draw a page. */
export function addHtmlOption(cmd: Command): Command {
  return cmd.option("--html <file>", "also write a self-contained HTML report with charts (opens offline)");
}

/** Checks the --html path before the run; undefined when not asked for. */
export function htmlPath(raw: Readonly<Record<string, unknown>>): string | undefined {
  return typeof raw.html === "string" ? checkSideFile(raw.html, "--html") : undefined;
}

/** Writes the page for the document `--json` prints, after the report has printed. */
export function writeHtml(path: string | undefined, kind: ReportKind, doc: object): void {
  if (path === undefined) return;
  writeSideFile(path, htmlReport(kind, doc, `mcdiag ${VERSION}`), "--html");
}
