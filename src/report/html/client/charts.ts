/**
 * The report page's charts, drawn with uPlot (inlined before this script)
 * from the chart models the page carries as JSON. Runs in the browser as an
 * inline module script: nothing is fetched.
 *
 * uPlot draws the axes, scales and legends; dots, bands, stacked bars and
 * the packet waterfall are drawn in its `draw` hook straight onto the
 * canvas (thousands of points need no object per point).
 */
import type UPlot from "uplot";
import type {
  ChartModel,
  LinesChart,
  PercentileChart,
  StackedBarChart,
  Styled,
  TimelineChart,
  WaterfallChart,
} from "../model.js";
import type { TimelineSeries } from "../../../metrics/timeline-series.js";

declare const uPlot: typeof UPlot;

type Opts = UPlot.Options;

const HEIGHT = 330;
const charts: { plot: UPlot; el: HTMLElement; height: number }[] = [];

function main(): void {
  const dataEl = document.getElementById("mcdiag-charts");
  if (dataEl === null) return;
  const models = JSON.parse(dataEl.textContent ?? "[]") as ChartModel[];
  for (const m of models) {
    const el = document.querySelector<HTMLElement>(`[data-chart="${m.id}"]`);
    if (el === null) continue;
    const plot = draw(m, el);
    charts.push({ plot, el, height: plot.height });
    el.dataset.drawn = "true";
  }
  // Printing: open every data table, and fit the charts to the paper's width. The print media
  // query is watched too: some print paths (and print emulation) change it without the events.
  window.addEventListener("beforeprint", forPrint);
  window.addEventListener("afterprint", forScreen);
  window.matchMedia("print").addEventListener("change", (e) => (e.matches ? forPrint() : forScreen()));
}

/** The charts' width on A4 or Letter paper at 96 dpi, inside the margins. */
const PRINT_WIDTH_PX = 680;

function forPrint(): void {
  document.querySelectorAll("details").forEach((d) => (d.open = true));
  for (const c of charts) c.plot.setSize({ width: PRINT_WIDTH_PX, height: c.height });
}

function forScreen(): void {
  for (const c of charts) c.plot.setSize({ width: widthOf(c.el), height: c.height });
}

function draw(m: ChartModel, el: HTMLElement): UPlot {
  switch (m.kind) {
    case "percentiles":
      return percentileChart(m, el);
    case "timeline":
      return timelineChart(m, el);
    case "lines":
      return linesChart(m, el);
    case "stacked-bars":
      return stackedBars(m, el);
    case "waterfall":
      return waterfall(m, el);
  }
}

function widthOf(el: HTMLElement): number {
  return Math.max(320, Math.min(1060, el.clientWidth || 900));
}

// ---- number formats (as the terminal writes them) ----

function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "-";
  const us = ms * 1000;
  if (us < 1000) return `${Math.round(us)} µs`;
  if (us < 10_000) return `${(us / 1000).toFixed(2)} ms`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(1)} ms`;
  return `${(us / 1e6).toFixed(2)} s`;
}

/** An axis tick in ms: "0.05", "1", "40", "1000". */
function tickMs(v: number): string {
  if (v >= 1) return String(Math.round(v * 100) / 100);
  return String(Number(v.toPrecision(2)));
}

/** 1/(1-p) as a percentile: 1 → "0%", 2 → "50%", 10 → "90%", 1000 → "99.9%". */
function pctLabel(x: number): string {
  if (x <= 1) return "0%";
  const p = 100 * (1 - 1 / x);
  const digits = Math.max(0, Math.ceil(Math.log10(x)) - 2);
  return `${p.toFixed(digits)}%`;
}

// ---- shared pieces ----

function legendOnly(s: Styled): UPlot.Series {
  return { label: s.label, stroke: s.color, fill: s.color, width: 0, paths: () => null, points: { show: false } };
}

function logRange(min: number, max: number): [number, number] {
  const lo = Math.max(1e-3, min);
  const hi = Math.max(lo * 10, max);
  return [10 ** Math.floor(Math.log10(lo)), 10 ** Math.ceil(Math.log10(hi))];
}

function msAxis(label: string): UPlot.Axis {
  return { label, values: (_u, splits) => splits.map((v) => (v == null ? "" : tickMs(v))), size: 60 };
}

// ---- (2) percentile distribution, (3) phases ----

function percentileChart(m: PercentileChart, el: HTMLElement): UPlot {
  const lines = m.lines.filter((l) => l.x.length > 0);
  const tables = lines.map((l) => [l.x, l.yUs.map((v) => Math.max(v, 1) / 1000)] as UPlot.AlignedData);
  const data = tables.length > 0 ? uPlot.join(tables) : ([[1, 10]] as unknown as UPlot.AlignedData);
  let maxX = 10;
  let minY = Infinity;
  let maxY = 0;
  for (const l of lines) {
    maxX = Math.max(maxX, ...l.x);
    for (const v of l.yUs) {
      minY = Math.min(minY, Math.max(v, 1) / 1000);
      maxY = Math.max(maxY, v / 1000);
    }
  }
  const decades: number[] = [1, 2];
  for (let d = 10; d <= maxX * 1.0001; d *= 10) decades.push(d);
  const opts: Opts = {
    width: widthOf(el),
    height: HEIGHT,
    scales: {
      x: { time: false, distr: 3, log: 10, range: [1, 10 ** Math.ceil(Math.log10(maxX))] },
      y: { distr: 3, log: 10, range: logRange(minY, maxY) },
    },
    axes: [
      {
        label: "percentile (axis: 1/(1−p), log)",
        splits: () => decades,
        // Keep every split (uPlot's log filter would hide 2, the median).
        filter: (_u, s) => s,
        values: (_u, s) => s.map((v) => (v == null ? "" : pctLabel(v))),
      },
      msAxis("latency (ms, log)"),
    ],
    series: [
      { label: "percentile", value: (_u, v) => (v == null ? "-" : pctLabel(v)) },
      ...lines.map((l): UPlot.Series => ({
        label: l.label,
        stroke: l.color,
        width: 2,
        dash: l.dash,
        spanGaps: true,
        points: { show: true, size: 5, fill: l.color },
        value: (_u, v) => fmtMs(v),
      })),
    ],
  };
  return new uPlot(opts, data, el);
}

// ---- (1) latency over time ----

function decodeFloats(b64: string): Float32Array {
  const bytes = decodeBytes(b64);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
}

function decodeBytes(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

interface DecodedSeries {
  t: Float32Array;
  v: Float32Array;
  c: Uint8Array;
  map: number[];
  bands: TimelineSeries["bands"];
}

function timelineChart(m: TimelineChart, el: HTMLElement): UPlot {
  const series: DecodedSeries[] = m.series.map((s) => ({
    t: decodeFloats(s.timeline.dots.tMs),
    v: decodeFloats(s.timeline.dots.latencyUs),
    c: decodeBytes(s.timeline.dots.category),
    map: s.categoryMap,
    bands: s.timeline.bands,
  }));
  let maxT = 0.001;
  let minY = Infinity;
  let maxY = 0;
  const see = (tMs: number, us: number) => {
    maxT = Math.max(maxT, tMs / 1000);
    minY = Math.min(minY, Math.max(us, 1) / 1000);
    maxY = Math.max(maxY, us / 1000);
  };
  for (const s of series) {
    for (let i = 0; i < s.t.length; i++) see(s.t[i]!, s.v[i]!);
    const b = s.bands;
    if (b === undefined) continue;
    for (let i = 0; i < b.startMs.length; i++) {
      see(b.startMs[i]! + b.bucketMs, b.maxUs[i]!);
      see(0, b.minUs[i]!);
    }
  }
  if (!(minY < Infinity)) minY = 0.01;
  const hasBands = series.some((s) => s.bands !== undefined);
  const legend: Styled[] = [...m.categories];
  if (hasBands) legend.push({ label: "per bucket: min–max (shaded), p50 (line), p99 (dashed)", color: "#777777" });
  const opts: Opts = {
    width: widthOf(el),
    height: HEIGHT,
    legend: { live: false },
    scales: { x: { time: false, range: [0, maxT * 1.02] }, y: { distr: 3, log: 10, range: logRange(minY, maxY) } },
    axes: [{ label: m.xLabel }, msAxis("latency (ms, log)")],
    series: [{ label: "time" }, ...legend.map(legendOnly)],
    hooks: { draw: [(u) => drawTimeline(u, series, m.categories)] },
  };
  return new uPlot(opts, [[0, maxT], ...legend.map(() => [null, null])] as UPlot.AlignedData, el);
}

function drawTimeline(u: UPlot, series: DecodedSeries[], cats: Styled[]): void {
  const ctx = u.ctx;
  const { left, top, width, height } = u.bbox;
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, width, height);
  ctx.clip();
  const px = devicePixelRatio || 1;
  for (const s of series) {
    const b = s.bands;
    if (b === undefined || b.startMs.length === 0) continue;
    const color = cats[s.map[0] ?? 0]?.color ?? "#777777";
    const x = (i: number) => u.valToPos((b.startMs[i]! + b.bucketMs / 2) / 1000, "x", true);
    const y = (us: number) => u.valToPos(Math.max(us, 1) / 1000, "y", true);
    const n = b.startMs.length;
    // min–max shaded, p99 dashed, p50 solid.
    ctx.beginPath();
    for (let i = 0; i < n; i++) ctx.lineTo(x(i), y(b.maxUs[i]!));
    for (let i = n - 1; i >= 0; i--) ctx.lineTo(x(i), y(b.minUs[i]!));
    ctx.closePath();
    ctx.fillStyle = color;
    ctx.globalAlpha = 0.18;
    ctx.fill();
    ctx.globalAlpha = 1;
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.5 * px;
    for (const [values, dash] of [
      [b.p99Us, [6 * px, 3 * px]],
      [b.p50Us, []],
    ] as const) {
      ctx.setLineDash(dash);
      ctx.beginPath();
      for (let i = 0; i < n; i++) ctx.lineTo(x(i), y(values[i]!));
      ctx.stroke();
    }
    ctx.setLineDash([]);
  }
  ctx.globalAlpha = 0.75;
  const size = 3 * px;
  // Category 0 first, so the remarkable ones are drawn on top.
  for (let cat = 0; cat < cats.length; cat++) {
    if (!u.series[cat + 1]!.show) continue;
    ctx.fillStyle = cats[cat]!.color;
    for (const s of series) {
      for (let i = 0; i < s.t.length; i++) {
        if (s.map[s.c[i]!] !== cat) continue;
        const x = u.valToPos(s.t[i]! / 1000, "x", true);
        const y = u.valToPos(Math.max(s.v[i]!, 1) / 1000, "y", true);
        ctx.fillRect(x - size / 2, y - size / 2, size, size);
      }
    }
  }
  ctx.restore();
}

// ---- lines: busy connections, sweep ----

function linesChart(m: LinesChart, el: HTMLElement): UPlot {
  const scale = (v: number | null) => (v === null ? null : m.yUs ? Math.max(v, 1) / 1000 : v);
  const ys = m.lines.map((l) => l.y.map(scale));
  const refs = m.refs ?? [];
  let minY = Infinity;
  let maxY = 0;
  for (const y of ys) {
    for (const v of y) {
      if (v === null) continue;
      minY = Math.min(minY, v);
      maxY = Math.max(maxY, v);
    }
  }
  for (const r of refs) {
    const v = scale(r.y)!;
    minY = Math.min(minY, v);
    maxY = Math.max(maxY, v);
  }
  if (!(minY < Infinity)) minY = 0;
  const yScale: UPlot.Scale = m.logY
    ? { distr: 3, log: 10, range: logRange(minY, maxY) }
    : { range: [0, maxY > 0 ? maxY * 1.1 : 1] };
  const opts: Opts = {
    width: widthOf(el),
    height: HEIGHT,
    scales: { x: { time: false }, y: yScale },
    axes: [{ label: m.xLabel }, m.yUs ? msAxis(m.yLabel) : { label: m.yLabel, size: 60 }],
    series: [
      { label: m.xLabel },
      ...m.lines.map((l): UPlot.Series => ({
        label: l.label,
        stroke: l.color,
        width: 2,
        dash: l.dash,
        spanGaps: true,
        points: { show: l.points ?? false, size: 6, fill: l.color },
        value: (_u, v) => (v == null ? "-" : m.yUs ? fmtMs(v) : String(Math.round(v * 100) / 100)),
      })),
      ...refs.map((r): UPlot.Series => ({
        label: r.label,
        stroke: r.color,
        width: 1.5,
        dash: r.dash ?? [6, 4],
        points: { show: false },
        value: () => (m.yUs ? fmtMs(scale(r.y)) : String(r.y)),
      })),
    ],
    hooks: { draw: [(u) => drawMarks(u, m)] },
  };
  const data = [m.x, ...ys, ...refs.map((r) => m.x.map(() => scale(r.y)))] as UPlot.AlignedData;
  return new uPlot(opts, data, el);
}

function drawMarks(u: UPlot, m: LinesChart): void {
  const ctx = u.ctx;
  const px = devicePixelRatio || 1;
  for (const k of m.marks ?? []) {
    const x = u.valToPos(k.x, "x", true);
    ctx.save();
    ctx.strokeStyle = k.color;
    ctx.lineWidth = 2 * px;
    ctx.setLineDash((k.dash ?? [4, 3]).map((d) => d * px));
    ctx.beginPath();
    ctx.moveTo(x, u.bbox.top);
    ctx.lineTo(x, u.bbox.top + u.bbox.height);
    ctx.stroke();
    ctx.fillStyle = k.color;
    ctx.font = `${12 * px}px sans-serif`;
    ctx.textAlign = x > u.bbox.left + u.bbox.width * 0.7 ? "right" : "left";
    ctx.fillText(k.label, x + (ctx.textAlign === "right" ? -4 : 4) * px, u.bbox.top + 14 * px);
    ctx.restore();
  }
}

// ---- (5) where the time went, per server ----

function stackedBars(m: StackedBarChart, el: HTMLElement): UPlot {
  const n = m.bars.length;
  let max = 0;
  for (let i = 0; i < n; i++)
    max = Math.max(
      max,
      m.segments.reduce((s, seg) => s + (seg.ms[i] ?? 0), 0),
    );
  const opts: Opts = {
    width: widthOf(el),
    height: HEIGHT,
    legend: { live: false },
    scales: { x: { time: false, range: [-0.6, n - 0.4] }, y: { range: [0, max > 0 ? max * 1.1 : 1] } },
    axes: [
      { label: "server", splits: () => m.bars.map((_b, i) => i), values: (_u, s) => s.map((i) => m.bars[i] ?? "") },
      { label: m.yLabel, size: 70 },
    ],
    series: [{ label: "server" }, ...m.segments.map(legendOnly)],
    hooks: {
      draw: [
        (u) => {
          const ctx = u.ctx;
          const half = Math.min(60, (u.bbox.width / Math.max(1, n)) * 0.3);
          for (let i = 0; i < n; i++) {
            let base = 0;
            const x = u.valToPos(i, "x", true);
            m.segments.forEach((seg, k) => {
              const v = seg.ms[i] ?? 0;
              if (!u.series[k + 1]!.show || v <= 0) return;
              const y0 = u.valToPos(base, "y", true);
              const y1 = u.valToPos(base + v, "y", true);
              ctx.fillStyle = seg.color;
              ctx.fillRect(x - half, y1, half * 2, y0 - y1);
              base += v;
            });
          }
        },
      ],
    },
  };
  return new uPlot(opts, [[0, Math.max(0, n - 1)], ...m.segments.map(() => [null, null])] as UPlot.AlignedData, el);
}

// ---- (5) the packets of one exchange ----

const ROW_PX = 22;

function waterfall(m: WaterfallChart, el: HTMLElement): UPlot {
  const rows = m.packets.length;
  const maxT = Math.max(0.001, ...m.packets.map((p) => p.tMs));
  const label = (i: number) => {
    const p = m.packets[i];
    if (p === undefined) return "";
    return `#${p.frame} ${p.dir === "c2s" ? "client→server" : "server→client"} ${p.kind === "ack" ? "ACK" : `${p.bytes} B`}`;
  };
  const opts: Opts = {
    width: widthOf(el),
    height: Math.max(160, rows * ROW_PX + 90),
    legend: { live: false },
    scales: {
      x: { time: false, range: [-maxT * 0.03, maxT * 1.35] },
      y: { range: [-0.5, rows - 0.5], dir: -1 },
    },
    axes: [
      { label: "ms since the request's first packet" },
      {
        label: "",
        size: 190,
        splits: () => m.packets.map((_p, i) => i),
        values: (_u, s) => s.map((i) => label(i)),
        gap: 4,
      },
    ],
    series: [{ label: "time" }, ...m.legend.map(legendOnly)],
    hooks: { draw: [(u) => drawWaterfall(u, m)] },
  };
  return new uPlot(opts, [[0, maxT], ...m.legend.map(() => [null, null])] as UPlot.AlignedData, el);
}

function drawWaterfall(u: UPlot, m: WaterfallChart): void {
  const ctx = u.ctx;
  const px = devicePixelRatio || 1;
  const color = (kind: string, dir: string) => {
    const entry = m.legend.find((l) => l.label.startsWith(legendKey(kind, dir)));
    return entry?.color ?? "#555555";
  };
  const rowOf = new Map(m.packets.map((p, i) => [p.frame, i]));
  ctx.save();
  ctx.font = `${11 * px}px sans-serif`;
  // The silences first, under the packets.
  for (const g of m.gaps) {
    const a = rowOf.get(g.fromFrame);
    const b = rowOf.get(g.toFrame);
    if (a === undefined || b === undefined) continue;
    const x0 = u.valToPos(m.packets[a]!.tMs, "x", true);
    const x1 = u.valToPos(m.packets[b]!.tMs, "x", true);
    const y0 = u.valToPos(a, "y", true);
    const y1 = u.valToPos(b, "y", true);
    ctx.fillStyle = "rgba(213, 94, 0, 0.12)";
    ctx.fillRect(x0, Math.min(y0, y1) - 6 * px, x1 - x0, Math.abs(y1 - y0) + 12 * px);
    ctx.fillStyle = "#8a3a00";
    ctx.textAlign = "center";
    ctx.fillText(`${fmtMs(g.ms)} of silence`, (x0 + x1) / 2, (y0 + y1) / 2 + 4 * px);
  }
  m.packets.forEach((p, i) => {
    const x = u.valToPos(p.tMs, "x", true);
    const y = u.valToPos(i, "y", true);
    ctx.strokeStyle = "#e3e3e3";
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(u.bbox.left, y);
    ctx.lineTo(u.bbox.left + u.bbox.width, y);
    ctx.stroke();
    ctx.fillStyle = color(p.kind, p.dir);
    const w = (p.kind === "ack" ? 6 : 10) * px;
    ctx.fillRect(x - w / 2, y - 6 * px, w, 12 * px);
    ctx.fillStyle = "#222222";
    ctx.textAlign = "left";
    ctx.fillText(`${fmtMs(p.tMs)}${p.note ? `  ${p.note}` : ""}`, x + 9 * px, y + 4 * px);
  });
  ctx.restore();
}

/** Legend labels start with these words; the waterfall's colours come from its legend. */
function legendKey(kind: string, dir: string): string {
  if (kind === "retransmission") return "retransmission";
  if (kind === "ack") return dir === "c2s" ? "client's pure ACK" : "server's pure ACK";
  if (kind === "data") return dir === "c2s" ? "request data" : "response data";
  return "other";
}

main();
