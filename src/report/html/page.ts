import { pageAssets } from "./assets.js";
import type { Cell, ChartModel, PageModel, Section, TableModel } from "./model.js";

/**
 * One self-contained HTML file: uPlot and mcdiag's chart script inlined,
 * the charts' data as JSON in the page, no request to anywhere (it opens
 * from file://). Headings, captions, alt text and a data table for every
 * chart make it readable without the pictures, and printable.
 */
export function renderPage(model: PageModel, generator: string): string {
  const a = pageAssets();
  const charts = model.sections.flatMap((s) => s.charts);
  const out: string[] = [];
  out.push(
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    // Nothing may be loaded from outside the file.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">`,
    `<meta name="generator" content="${esc(generator)}">`,
    `<title>${esc(model.title)}</title>`,
    `<style>${a.uplotCss}</style>`,
    `<style>${PAGE_CSS}</style>`,
    "</head>",
    `<body data-kind="${model.kind}">`,
    '<a class="skip" href="#main">Skip to the report</a>',
    "<header>",
    `<h1>${esc(model.title)}</h1>`,
    `<p class="subtitle">${esc(model.subtitle)}</p>`,
    "</header>",
    '<main id="main">',
    '<section id="verdict" aria-labelledby="verdict-h">',
    '<h2 id="verdict-h">Verdict</h2>',
    '<ul class="verdict">',
    ...model.verdict.map((v) => `<li class="${v.tone}">${esc(v.text)}</li>`),
    "</ul>",
    "</section>",
    '<section id="params" aria-labelledby="params-h">',
    '<h2 id="params-h">Run parameters</h2>',
    '<dl class="params">',
    ...model.params.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`),
    "</dl>",
    "</section>",
  );
  for (const s of model.sections) out.push(section(s));
  out.push(
    '<section id="terminal" aria-labelledby="terminal-h">',
    '<h2 id="terminal-h">The report as the terminal prints it</h2>',
    `<pre class="terminal">${esc(model.terminal)}</pre>`,
    "</section>",
    "</main>",
    `<footer><p>Made by ${esc(generator)}. Each chart has its numbers in the table below it; the JSON result holds them all.</p></footer>`,
    `<script>${scriptSafe(a.uplotJs)}</script>`,
    `<script type="application/json" id="mcdiag-charts">${jsonSafe(charts)}</script>`,
    `<script type="module">${scriptSafe(a.chartsJs)}</script>`,
    "</body>",
    "</html>",
  );
  return out.join("\n") + "\n";
}

function section(s: Section): string {
  const out = [
    `<section id="${esc(s.id)}" aria-labelledby="${esc(s.id)}-h">`,
    `<h2 id="${esc(s.id)}-h">${esc(s.heading)}</h2>`,
  ];
  if (s.intro) out.push(`<p>${esc(s.intro)}</p>`);
  for (const c of s.charts) out.push(figure(c));
  for (const t of s.tables) out.push(table(t));
  out.push("</section>");
  return out.join("\n");
}

function figure(c: ChartModel): string {
  return [
    `<figure class="chart-figure" id="fig-${esc(c.id)}" aria-labelledby="${esc(c.id)}-title">`,
    `<h3 id="${esc(c.id)}-title">${esc(c.title)}</h3>`,
    `<div class="chart" id="chart-${esc(c.id)}" data-chart="${esc(c.id)}" data-kind="${c.kind}" role="img" tabindex="0" aria-label="${esc(c.alt)}" aria-describedby="${esc(c.id)}-caption"></div>`,
    `<figcaption id="${esc(c.id)}-caption">${esc(c.caption)}</figcaption>`,
    '<details class="chart-data">',
    `<summary>The numbers behind “${esc(c.title)}”</summary>`,
    table(c.table),
    "</details>",
    "</figure>",
  ].join("\n");
}

function table(t: TableModel): string {
  const numeric = new Set(t.numeric ?? []);
  const cls = (i: number) => (numeric.has(i) ? ' class="num"' : "");
  const rows = t.rows.map(
    (r) =>
      "<tr>" +
      r
        .map((c, i) => {
          const cell: Cell = typeof c === "string" ? { text: c } : c;
          const value = cell.value === undefined ? "" : ` data-value="${esc(String(cell.value))}"`;
          return i === 0
            ? `<th scope="row"${cls(i)}${value}>${esc(cell.text)}</th>`
            : `<td${cls(i)}${value}>${esc(cell.text)}</td>`;
        })
        .join("") +
      "</tr>",
  );
  return [
    '<div class="table-wrap"><table>',
    `<caption>${esc(t.caption)}</caption>`,
    `<thead><tr>${t.head.map((h, i) => `<th scope="col"${cls(i)}>${esc(h)}</th>`).join("")}</tr></thead>`,
    `<tbody>${rows.join("\n")}</tbody>`,
    "</table></div>",
  ].join("\n");
}

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON inside a script element: `<` escaped so no `</script>` or `<!--` can end it early. */
function jsonSafe(v: unknown): string {
  return JSON.stringify(v)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** A script's text inside a script element. */
function scriptSafe(js: string): string {
  return js.replace(/<\/script/gi, "<\\/script");
}

const PAGE_CSS = `
:root { color-scheme: light; --fg: #1b1b1b; --muted: #555; --line: #d0d0d0; --bad: #a3000b; --ok: #05620a; --warn: #7a4b00; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--fg); margin: 0 auto; padding: 0 1.25rem 2rem; max-width: 1100px; }
.skip { position: absolute; left: -1000px; }
.skip:focus { left: 1rem; top: 1rem; background: #fff; padding: .25rem .5rem; outline: 2px solid #0072b2; }
header h1 { font-size: 1.5rem; margin: 1.25rem 0 .25rem; }
.subtitle { color: var(--muted); margin: 0 0 1rem; font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .85rem; }
h2 { font-size: 1.2rem; border-bottom: 1px solid var(--line); padding-bottom: .2rem; margin-top: 2rem; }
h3 { font-size: 1.05rem; margin: 1rem 0 .4rem; }
.verdict { list-style: none; padding: 0; margin: 0; }
.verdict li { padding: .45rem .7rem; margin: .3rem 0; border-left: 4px solid var(--line); background: #f6f6f6; }
.verdict li.bad { border-color: var(--bad); }
.verdict li.ok { border-color: var(--ok); }
.verdict li.warn { border-color: var(--warn); }
.params { display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap: .2rem 1rem; margin: 0; }
.params div { display: flex; gap: .5rem; }
.params dt { color: var(--muted); }
.params dd { margin: 0; font-weight: 600; }
figure { margin: 1rem 0 1.5rem; page-break-inside: avoid; break-inside: avoid; }
.chart { min-height: 120px; }
figcaption { color: var(--muted); margin: .3rem 0; }
details.chart-data summary { cursor: pointer; color: #0b5394; }
details.chart-data summary:focus-visible, .chart:focus-visible { outline: 2px solid #0072b2; outline-offset: 2px; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .85rem; }
caption { text-align: left; color: var(--muted); padding: .2rem 0; }
th, td { border: 1px solid var(--line); padding: .2rem .45rem; text-align: left; vertical-align: top; }
thead th { background: #f0f0f0; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
pre.terminal { font: .78rem/1.3 ui-monospace, "DejaVu Sans Mono", monospace; overflow-x: auto; background: #f7f7f7; padding: .75rem; border: 1px solid var(--line); }
footer { color: var(--muted); font-size: .8rem; margin-top: 2rem; }
.u-legend { font-size: .8rem; }
.chart-error { color: var(--bad); }
@media print {
  body { max-width: none; font-size: 11pt; padding: 0; }
  .skip, details.chart-data summary { display: none; }
  a { color: inherit; }
  tr { break-inside: avoid; }
  pre.terminal { white-space: pre-wrap; font-size: 7pt; }
  h2 { break-after: avoid; }
}
`;
