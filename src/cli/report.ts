import { Command } from "commander";
import { terminalReport } from "../report/html/index.js";
import { analysisInputOf } from "../analyze/merge.js";
import { probeInputOf, sweepInputOf } from "../probes/fleet.js";
import { arrayAt, badField, objectAt, stringAt, type Json } from "../results/fields.js";
import { readResult } from "../results/read.js";
import type { RecordKind } from "../results/record.js";
import { isMcdiagError, McdiagError } from "../util/errors.js";
import type { CliContext } from "./context.js";
import { addHtmlOption, htmlPath, writeHtml } from "./html-option.js";

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

The file is the JSON document as printed: its envelope ("kind":
"mcdiag.probe", …, and "version") says which page to draw. A merged result
(mcdiag merge --json) draws as one run, with a row per worker.

Exit codes: 0 done; 2 the file is missing, empty, not JSON, not an mcdiag
result or of a newer version, or the page cannot be written.`,
  );
  cmd.action((file: string, raw: { html?: string }) => {
    const html = htmlPath(raw);
    const { kind, doc } = readResult(file);
    checkDocument(kind, doc, file);
    try {
      if (html !== undefined) writeHtml(html, kind, doc);
      else ctx.out(terminalReport(kind, doc));
    } catch (err) {
      // A field that does not decode is named inside the document: say which file it is in.
      if (isMcdiagError(err) && err.code === "BAD_INPUT" && !err.message.startsWith(`${file}: `))
        throw new McdiagError("BAD_INPUT", `${file}: ${err.message}`, { file });
      throw err;
    }
  });
  return cmd;
}

/**
 * The fields the report reads, checked before drawing: a document that is
 * not a whole result is a one-line error naming the file and the field.
 * Each kind is read as `merge` reads it (histograms decoded); a compare
 * result's runs as probe results.
 */
function checkDocument(kind: RecordKind, doc: Json, file: string): void {
  switch (kind) {
    case "probe":
      probeInputOf(doc, file);
      return;
    case "sweep":
      sweepInputOf(doc, file);
      return;
    case "compare":
      stringAt(doc, "endpoint", file);
      objectAt(doc, "findings", file);
      arrayAt(doc, "runs", file).forEach((run, k) => {
        if (run === null || typeof run !== "object" || Array.isArray(run))
          throw badField(file, `runs[${k}]`, "is not an object");
        probeInputOf(run as Json, `${file} runs[${k}]`);
      });
      return;
    case "analyze":
      analysisInputOf(doc, file);
      return;
  }
}
