import { readFileSync, statSync } from "node:fs";
import { Command } from "commander";
import { reportKindOf, terminalReport } from "../report/html/index.js";
import { McdiagError } from "../util/errors.js";
import type { CliContext } from "./context.js";
import { addHtmlOption, htmlPath, writeHtml } from "./html-option.js";

/** JSON results larger than this are refused before they are read (a 1M-request probe's is a few MB). */
const MAX_RESULT_BYTES = 512 * 1024 * 1024;

export function reportCommand(ctx: CliContext): Command {
  const cmd = new Command("report")
    .description("draw the report of a saved --json result again: as text, or as an HTML page with --html")
    .argument("<result>", "a JSON result printed by probe, compare, demo, sweep or analyze with --json (- for stdin)");
  addHtmlOption(cmd);
  cmd.addHelpText(
    "after",
    `
Examples:
  mcdiag compare 127.0.0.1:11211 --json > compare.json
  mcdiag report compare.json --html compare.html
  mcdiag analyze capture.pcapng --json | mcdiag report - --html analyze.html

The page is the one --html draws at the end of the run. Without --html the
report is printed as the command printed it.

Exit codes: 0 done; 2 the file is missing, is not JSON, or is not an mcdiag
result, or the page cannot be written.`,
  );
  cmd.action((file: string, raw: { html?: string }) => {
    const html = htmlPath(raw);
    const doc = readResult(file);
    const kind = reportKindOf(doc);
    if (kind === undefined) {
      throw new McdiagError(
        "BAD_INPUT",
        `${file}: not an mcdiag result (expected the --json output of probe, compare, demo, sweep or analyze)`,
        { file },
      );
    }
    if (html !== undefined) {
      writeHtml(html, kind, doc as object);
      return;
    }
    ctx.out(terminalReport(kind, doc as object));
  });
  return cmd;
}

function readResult(file: string): unknown {
  let text: string;
  try {
    if (file !== "-" && statSync(file).size > MAX_RESULT_BYTES) {
      throw new McdiagError("BAD_INPUT", `${file}: larger than 512 MiB: not an mcdiag result`, { file });
    }
    text = readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (err) {
    if (err instanceof McdiagError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (code ?? (err as Error).message);
    throw new McdiagError("BAD_INPUT", `${file}: cannot read: ${why}`, { file });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // The parser's message quotes the bytes, which may be binary: name the file and what was expected.
    throw new McdiagError("BAD_INPUT", `${file}: not JSON (expected the --json output of an mcdiag command)`, { file });
  }
}
