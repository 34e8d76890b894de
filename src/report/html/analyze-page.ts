import type { AnalysisResult, CauseSummary, ExchangePacket, TopExchange } from "../../analyze/result.js";
import { renderAnalysis } from "../analyze-report.js";
import { fmtCount, fmtMs, fmtPct, fmtUs } from "../format.js";
import { count, histogramOf, ms, percentileChart, timelineChart, us, verdictFromTerminal } from "./common.js";
import type {
  Cell,
  ChartModel,
  PageModel,
  Section,
  StackedBarChart,
  Styled,
  TableModel,
  WaterfallChart,
} from "./model.js";
import { CAUSE_COLORS, COLORS } from "./palette.js";
import { round } from "../../util/round.js";

/** Worst exchanges drawn packet by packet. */
const WATERFALLS = 3;

/** Whether the analysis was made with --show-keys. */
function keysShown(r: AnalysisResult): boolean {
  return r.top.some((t) => t.key !== undefined) || r.stalls.items.some((i) => i.key !== undefined);
}

/** The report as `analyze` printed it. */
export function analyzeTerminal(r: AnalysisResult): string {
  return renderAnalysis(r, { showKeys: keysShown(r) });
}

export function analyzePage(r: AnalysisResult): PageModel {
  const showKeys = keysShown(r);
  const terminal = analyzeTerminal(r);
  const sections: Section[] = [];

  const bars = timeBars(r);
  const perServer: ChartModel[] = bars ? [bars] : [];
  if (r.endpoints.some((e) => e.wireUs.count > 0)) {
    perServer.push(
      percentileChart(
        "server-percentiles",
        "Wire latency percentiles per server",
        "A server whose line jumps to ~40 ms (or 200 ms) at some percentile has that share of its requests stalled (or retransmitted).",
        r.endpoints
          .filter((e) => e.wireUs.count > 0)
          .map((e) => ({
            label: e.server,
            summary: e.wireUs,
            histogram: histogramOf({ histograms: r.histograms?.endpoints }, e.server, e.wireUs, "histograms.endpoints"),
          })),
      ),
    );
  }
  const serverTables = [serverTable(r)];
  // Results saved before cause attribution have no causes.
  if (r.causes !== undefined && r.causes.length > 0) serverTables.unshift(causesTable(r.causes, r.slowThresholdMs));
  sections.push({ id: "servers", heading: "Where the time went", charts: perServer, tables: serverTables });

  if (r.timeline !== undefined) {
    const cats: Styled[] = r.timeline.categories.map((c) => ({ label: c, color: CAUSE_COLORS[c] ?? COLORS.grey }));
    sections.push({
      id: "over-time",
      heading: "Latency over time",
      charts: [
        timelineChart(
          "analyze-timeline",
          "Wire time of every exchange over the capture, by cause",
          "One dot per exchange at its first request packet, coloured by what made it slow: a row of vermillion dots at ~40 ms is the delayed-ACK stall, orange ones at 200 ms and above are retransmissions.",
          cats,
          [{ label: r.file, timeline: r.timeline, categoryMap: cats.map((_c, i) => i) }],
        ),
      ],
      tables: [],
    });
  }

  const drawn = r.top.filter((t) => t.packets !== undefined && t.packets.length > 0).slice(0, WATERFALLS);
  if (drawn.length > 0) {
    sections.push({
      id: "waterfalls",
      heading: "The worst exchanges, packet by packet",
      intro:
        "Each row is one packet of the connection, from the request's first to the response's last; open a frame in Wireshark with frame.number == N.",
      charts: drawn.map((t, i) => waterfall(t, i)),
      tables: [],
    });
  }
  const tables: TableModel[] = [];
  if (r.stalls.items.length > 0) tables.push(stallTable(r, showKeys));
  if (r.top.length > 0) tables.push(topTable(r));
  if (r.flowsDetail.length > 0) tables.push(flowTable(r));
  sections.push({ id: "tables", heading: "Flows, stalls and the worst exchanges", charts: [], tables });

  return {
    kind: "analyze",
    title: `mcdiag analyze ${r.file}`,
    subtitle: terminal.split("\n")[0]!,
    verdict: verdictFromTerminal(terminal),
    params: [
      ["file", r.file],
      ["format", `${r.format ?? "?"}, ${r.timestampResolution ?? "?"} timestamps`],
      ["packets", fmtCount(r.packets)],
      ["duration", `${r.durationSec.toFixed(3)} s`],
      ["memcached flows", fmtCount(r.memcachedFlows)],
      ["requests", fmtCount(r.requests.total)],
    ],
    sections,
    terminal,
  };
}

/** Per server, its wire time in three parts: sending the request, the server's turn, sending the response. */
function timeBars(r: AnalysisResult): StackedBarChart | undefined {
  const eps = r.endpoints.filter((e) => e.timeMs !== undefined && e.wireUs.count > 0);
  if (eps.length === 0) return undefined;
  const part = (k: "requestTransmit" | "server" | "responseTransmit") => eps.map((e) => e.timeMs![k]);
  const segments = [
    { label: "request transmit (first → last request byte)", color: COLORS.vermillion, ms: part("requestTransmit") },
    { label: "server (last request byte → first response byte)", color: COLORS.green, ms: part("server") },
    { label: "response transmit (first → last response byte)", color: COLORS.blue, ms: part("responseTransmit") },
  ];
  const total = (e: (typeof eps)[number]) => e.timeMs!.requestTransmit + e.timeMs!.server + e.timeMs!.responseTransmit;
  return {
    kind: "stacked-bars",
    id: "time-bars",
    title: "Where the wire time went, per server",
    caption:
      "A tall request-transmit part is time the request spent leaving in pieces (the delayed-ACK stall sits there); a tall server part is the server's (or proxy's) own time; a tall response part, a slow or lossy way back.",
    alt: eps
      .map(
        (e) =>
          `${e.server}: ${fmtMs(total(e))} on the wire: request transmit ${fmtMs(e.timeMs!.requestTransmit)}, server ${fmtMs(e.timeMs!.server)}, response transmit ${fmtMs(e.timeMs!.responseTransmit)}; ${fmtMs(e.timeMs!.stalled)} in delayed-ACK stalls`,
      )
      .join("; "),
    yLabel: "time summed over the exchanges (ms)",
    bars: eps.map((e) => e.server),
    segments,
    table: {
      caption: "Wire time per server, summed over its answered exchanges (ms in data-value)",
      head: ["server", "requests", "request transmit", "server", "response transmit", "in delayed-ACK stalls"],
      numeric: [1, 2, 3, 4, 5],
      rows: eps.map((e) => [
        e.server,
        count(e.requests),
        ms(e.timeMs!.requestTransmit),
        ms(e.timeMs!.server),
        ms(e.timeMs!.responseTransmit),
        ms(e.timeMs!.stalled),
      ]),
    },
  };
}

/** The "where the time went" table of causes, as the terminal's. */
export function causesTable(causes: CauseSummary[], slowThresholdMs: number): TableModel {
  return {
    caption: `Where the time of the slow requests (wire ≥ ${slowThresholdMs} ms) went: each counted once, under the cause that cost it most (ms in data-value)`,
    head: ["cause", "slow requests", "total", "typical", "timer it matches", "worst: flow, frames"],
    numeric: [1, 2, 3],
    rows: causes.map((c) => {
      const ex = c.examples[0];
      return [
        c.cause,
        {
          text:
            c.cause === "connect"
              ? `${fmtCount(c.requests)} (${fmtCount(c.connections ?? 0)} connections)`
              : fmtCount(c.requests),
          value: c.requests,
        },
        ms(c.totalMs),
        ms(c.typicalMs),
        c.timer ?? "-",
        ex === undefined
          ? "-"
          : { text: `${ex.flow}: ${ex.frames.join(", ")} (${fmtMs(ex.ms)})`, value: ex.frames.join(",") },
      ];
    }),
  };
}

const WATERFALL_LEGEND: Styled[] = [
  { label: "request data (client→server)", color: COLORS.blue },
  { label: "response data (server→client)", color: COLORS.green },
  { label: "server's pure ACK", color: COLORS.vermillion },
  { label: "client's pure ACK", color: COLORS.purple },
  { label: "retransmission", color: COLORS.orange },
  { label: "other (SYN, FIN, RST)", color: COLORS.grey },
];

/** Silences at least this long (ms), or this share of the exchange, are marked. */
const GAP_MIN_MS = 1;
const GAP_MIN_SHARE = 0.2;

function waterfall(t: TopExchange, i: number): WaterfallChart {
  const packets = t.packets!;
  const span = packets[packets.length - 1]!.tMs;
  const gaps: WaterfallChart["gaps"] = [];
  for (let k = 1; k < packets.length; k++) {
    const d = packets[k]!.tMs - packets[k - 1]!.tMs;
    if (d >= GAP_MIN_MS && d >= span * GAP_MIN_SHARE)
      gaps.push({ fromFrame: packets[k - 1]!.frame, toFrame: packets[k]!.frame, ms: round(d, 3) });
  }
  const what = t.stallMs > 0 ? `a ${fmtMs(t.stallMs)} stall` : `${fmtUs(t.wireUs)} on the wire`;
  const cause = t.cause;
  const frames = packets.map((p) => p.frame);
  return {
    kind: "waterfall",
    id: `waterfall-${i + 1}`,
    title: `Exchange ${i + 1}: ${t.command} on flow ${t.flow}, ${what}${cause ? ` (${cause})` : ""}`,
    caption:
      t.stallMs > 0
        ? "The request leaves in pieces: the first piece, a silence of ~40 ms until the server's pure ACK, then the rest of the request and at once the response. That silence is the delayed-ACK stall."
        : "Where the silence sits says who was slow: between the request and the response it is the server; inside the request or the response, the network or the sender.",
    alt:
      `Packets of ${t.command} on flow ${t.flow}: ` +
      packets
        .map(
          (p) =>
            `frame ${p.frame} at ${fmtMs(p.tMs)} ${p.dir === "c2s" ? "client to server" : "server to client"} ${kindOf(p)}${p.bytes > 0 ? ` ${p.bytes} bytes` : ""}`,
        )
        .join("; ") +
      (gaps.length > 0
        ? `; silences: ${gaps.map((g) => `${fmtMs(g.ms)} between frames ${g.fromFrame} and ${g.toFrame}`).join(", ")}`
        : ""),
    packets: packets.map((p) => ({
      frame: p.frame,
      tMs: p.tMs,
      dir: p.dir,
      bytes: p.bytes,
      kind: kindOf(p),
      note: noteOf(t, p),
    })),
    gaps,
    legend: WATERFALL_LEGEND,
    table: {
      caption: `The packets of exchange ${i + 1} (frames ${frames[0]}–${frames[frames.length - 1]}; ms since its first packet in data-value)`,
      head: ["frame", "time", "direction", "what", "bytes", "flags", "silence before"],
      numeric: [0, 1, 4, 6],
      rows: packets.map((p, k) => [
        { text: String(p.frame), value: p.frame },
        ms(p.tMs),
        p.dir === "c2s" ? "client → server" : "server → client",
        kindOf(p),
        count(p.bytes),
        p.flags.join(","),
        k === 0 ? "-" : ms(round(p.tMs - packets[k - 1]!.tMs, 3)),
      ]),
    },
  };
}

/** What a packet carries, in words: which part of the request, the response, or an ACK. */
function noteOf(t: TopExchange, p: ExchangePacket): string {
  const k = kindOf(p);
  if (k === "ack") return p.dir === "c2s" ? "client's pure ACK" : "server's pure ACK";
  if (k === "other") return p.flags.join(",");
  const side = p.dir === "c2s" ? "request" : "response";
  const parts = p.dir === "c2s" ? t.requestSegments : t.responseSegments;
  const sameSide = t.packets!.filter((q) => q.dir === p.dir && q.bytes > 0 && !q.retransmission);
  const part = sameSide.indexOf(p) + 1;
  if (k === "retransmission") return `${side} bytes sent again`;
  return parts > 1 && part > 0 ? `${side}, part ${part} of ${parts}` : side;
}

function kindOf(p: ExchangePacket): string {
  if (p.retransmission) return "retransmission";
  if (p.flags.includes("SYN") || p.flags.includes("FIN") || p.flags.includes("RST")) return "other";
  return p.bytes > 0 ? "data" : "ack";
}

function serverTable(r: AnalysisResult): TableModel {
  return {
    caption: "Servers as the terminal shows them (µs and ms in data-value)",
    head: ["server", "flows", "requests", "stalls", "stalled", "stalled time", "p50 wire", "p99 wire", "max"],
    numeric: [1, 2, 3, 4, 5, 6, 7, 8],
    rows: r.endpoints.map((e) => [
      e.server,
      count(e.flows),
      count(e.requests),
      count(e.stalls),
      { text: fmtPct(e.stalledRatio), value: e.stalledRatio },
      ms(e.stalledMs),
      us(e.wireUs.p50),
      us(e.wireUs.p99),
      us(e.wireUs.max),
    ]),
  };
}

function stallTable(r: AnalysisResult, showKeys: boolean): TableModel {
  const items = [...r.stalls.items].sort((a, b) => b.stallMs - a.stallMs).slice(0, 10);
  return {
    caption: "Longest stalls: open the frames in Wireshark (frame.number == N)",
    head: ["flow", "command", ...(showKeys ? ["key"] : []), "side", "stall", "frames: before, ACK, after", "at"],
    numeric: [0],
    rows: items.map((i) => [
      { text: String(i.flow), value: i.flow },
      i.command,
      ...(showKeys ? [i.key ?? ""] : []),
      i.side,
      ms(i.stallMs),
      { text: i.frames.join(", "), value: i.frames.join(",") },
      { text: `${i.atSec.toFixed(3)} s`, value: i.atSec },
    ]),
  };
}

function topTable(r: AnalysisResult): TableModel {
  const rows: (string | Cell)[][] = r.top.map((t) => [
    { text: String(t.flow), value: t.flow },
    t.command,
    us(t.wireUs),
    ms(t.stallMs),
    count(t.requestSegments),
    count(t.responseSegments),
    {
      text: `${t.requestFrames.join("–")} / ${t.responseFrames.join("–")}`,
      value: [...t.requestFrames, ...t.responseFrames].join(","),
    },
  ]);
  return {
    caption: "The worst exchanges, most stalled first (wire µs and stall ms in data-value)",
    head: ["flow", "command", "wire", "stall", "request segments", "response segments", "frames: request / response"],
    numeric: [0, 2, 3, 4, 5],
    rows,
  };
}

function flowTable(r: AnalysisResult): TableModel {
  return {
    caption: `Flows, most stalled first${r.flowsDetail.length > 20 ? " (the first 20)" : ""}`,
    head: [
      "flow",
      "client → server",
      "requests",
      "multi-seg",
      "stalls",
      "stalled time",
      "p50 wire",
      "p99 wire",
      "verdict",
    ],
    numeric: [0, 2, 3, 4, 5, 6, 7],
    rows: r.flowsDetail
      .slice(0, 20)
      .map((f) => [
        { text: String(f.flow) + (f.midStream ? "*" : ""), value: f.flow },
        `${f.client} → ${f.server}`,
        count(f.requests),
        count(f.multiSegmentRequests),
        count(f.stalledRequests + f.stalledResponses),
        f.stalledMs > 0 ? ms(f.stalledMs) : "-",
        us(f.wireUs.p50),
        us(f.wireUs.p99),
        f.verdict,
      ]),
  };
}
