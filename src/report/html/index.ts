import type { AnalysisResult } from "../../analyze/result.js";
import { analyzePage, analyzeTerminal } from "./analyze-page.js";
import { renderCompare } from "../compare-report.js";
import { comparePage, type CompareDoc } from "./compare-page.js";
import type { PageModel } from "./model.js";
import { renderPage } from "./page.js";
import type { RecordKind } from "../../results/record.js";
import { probePage, probeTerminal, type ProbeDoc } from "./probe-page.js";
import { sweepPage, sweepTerminal, type SweepDoc } from "./sweep-page.js";

/** The kinds of result a page is drawn for: every kind of `--json` record. */
export type ReportKind = RecordKind;

/**
 * The self-contained HTML page for a result, from the very document
 * `--json` prints (probe: the result; compare and demo: `compareJson`;
 * sweep: `sweepJson`; analyze: the analysis). The document is read through
 * a JSON round trip, so a page made at the end of a run and one made later
 * by `mcdiag report RESULT.json` are the same.
 */
export function htmlReport(kind: ReportKind, doc: object, generator: string): string {
  return renderPage(pageModel(kind, JSON.parse(JSON.stringify(doc)) as object), generator);
}

export function pageModel(kind: ReportKind, doc: object): PageModel {
  switch (kind) {
    case "probe":
      return probePage(doc as ProbeDoc);
    case "compare":
      return comparePage(doc as CompareDoc);
    case "sweep":
      return sweepPage(doc as SweepDoc);
    case "analyze":
      return analyzePage(doc as AnalysisResult);
  }
}

/** The report as the command printed it on the terminal, from its JSON document. */
export function terminalReport(kind: ReportKind, doc: object): string {
  switch (kind) {
    case "probe":
      return probeTerminal(doc as ProbeDoc);
    case "compare":
      return renderCompare(doc as CompareDoc);
    case "sweep":
      return sweepTerminal(doc as SweepDoc);
    case "analyze":
      return analyzeTerminal(doc as AnalysisResult);
  }
}
