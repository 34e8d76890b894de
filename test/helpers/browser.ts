import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import type { ChartModel } from "../../src/report/html/model.js";
import { IN_CI } from "./tools.js";

/** Debian's chromium package. */
export const CHROMIUM = process.env.MCDIAG_CHROMIUM ?? "/usr/bin/chromium";

/** Screenshots of every report the tests open (git-ignored). */
export const ARTIFACTS = fileURLToPath(new URL("../../test-artifacts/screenshots/", import.meta.url));

/**
 * Whether the browser tests can run. Outside CI a missing chromium skips
 * them, saying why; under CI it is a failure (.ci/run installs it).
 */
export function requireChromium(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (IN_CI)
    throw new Error(`${CHROMIUM} is required in CI (browser tests of the HTML reports); .ci/run installs chromium`);
  console.warn(`skipping: ${CHROMIUM} is not installed (browser tests of the HTML reports); apt-get install chromium`);
  return false;
}

/**
 * Headless Chromium with a fresh profile and no background traffic: the
 * page must draw from file:// alone.
 */
export async function launchBrowser(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), "mcdiag-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1100, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface OpenedReport {
  page: Page;
  /** Console errors and uncaught exceptions, as they happened. */
  errors: string[];
  /** Requests the page made to anything but its own file. */
  requests: string[];
}

/** Opens a report from file://, waits until every chart says it is drawn, and saves a screenshot. */
export async function openReport(context: BrowserContext, file: string, name: string): Promise<OpenedReport> {
  const page = await context.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("request", (r) => {
    if (r.url() !== `file://${file}`) requests.push(r.url());
  });
  await page.goto(`file://${file}`);
  await page.waitForFunction(() =>
    [...document.querySelectorAll<HTMLElement>("[data-chart]")].every((el) => el.dataset.drawn === "true"),
  );
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  return { page, errors, requests };
}

export interface ChartCheck {
  id: string;
  kind: string;
  /** Pixels on the canvas in one of the chart's own data colours (not axes or grid). */
  dataPixels: number;
  legend: string[];
}

/** Per chart: how many canvas pixels carry its series' colours, and what its legend names. */
export async function checkCharts(page: Page): Promise<ChartCheck[]> {
  return page.evaluate(() => {
    const models = JSON.parse(document.getElementById("mcdiag-charts")!.textContent) as {
      id: string;
      kind: string;
      lines?: { color: string }[];
      categories?: { color: string }[];
      segments?: { color: string }[];
      legend?: { color: string }[];
    }[];
    const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
    return models.map((m) => {
      const el = document.querySelector(`[data-chart="${m.id}"]`)!;
      const colors = [...(m.lines ?? []), ...(m.categories ?? []), ...(m.segments ?? []), ...(m.legend ?? [])].map(
        (s) => rgb(s.color),
      );
      const canvas = el.querySelector("canvas")!;
      const data = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
      let dataPixels = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3]! < 128) continue;
        for (const c of colors) {
          if (Math.abs(data[i]! - c[0]!) + Math.abs(data[i + 1]! - c[1]!) + Math.abs(data[i + 2]! - c[2]!) < 60) {
            dataPixels++;
            break;
          }
        }
      }
      const legend = [...el.querySelectorAll(".u-legend .u-series th")].map((th) => th.textContent.trim());
      return { id: m.id, kind: m.kind, dataPixels, legend };
    });
  });
}

export interface PageTable {
  caption: string;
  head: string[];
  rows: { text: string; value: string | null }[][];
}

/** Every table on the page: caption, header, and each cell's text and data-value. */
export async function pageTables(page: Page): Promise<PageTable[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll("main table:not(.u-legend)")].map((t) => ({
      caption: t.querySelector("caption")?.textContent ?? "",
      head: [...t.querySelectorAll("thead th")].map((th) => th.textContent ?? ""),
      rows: [...t.querySelectorAll("tbody tr")].map((tr) =>
        [...tr.children].map((c) => ({ text: c.textContent ?? "", value: c.getAttribute("data-value") })),
      ),
    })),
  );
}

/** The chart models the page carries. */
export async function chartModels(page: Page): Promise<ChartModel[]> {
  return page.evaluate(() => JSON.parse(document.getElementById("mcdiag-charts")!.textContent) as ChartModel[]);
}

export interface AccessibilityCheck {
  /** Heading levels and texts in document order. */
  headings: { level: number; text: string }[];
  /** Per chart: its role, accessible name, heading and whether a data table sits in its figure. */
  charts: { id: string; role: string | null; label: string; heading: string; tables: number }[];
  /** What Tab reaches, in order (id, data-chart or text of each focused element). */
  tabStops: string[];
  /** Under print media: closed <details> left, the widest chart canvas (CSS px), hidden skip link. */
  print: { closedDetails: number; hiddenTables: number; widestChartPx: number; skipShown: boolean };
}

/**
 * What a reader without the pictures, a keyboard user and a printer get:
 * the heading outline, each chart's name and table, the Tab order through
 * the page, and the page under print media.
 */
export async function checkAccessibility(page: Page): Promise<AccessibilityCheck> {
  const structure = await page.evaluate(() => ({
    headings: [...document.querySelectorAll("h1, h2, h3, h4, h5, h6")].map((h) => ({
      level: Number(h.tagName.slice(1)),
      text: h.textContent.trim(),
    })),
    charts: [...document.querySelectorAll<HTMLElement>("[data-chart]")].map((el) => {
      const fig = el.closest("figure")!;
      return {
        id: el.dataset.chart!,
        role: el.getAttribute("role"),
        label: el.getAttribute("aria-label") ?? "",
        heading: fig.querySelector("h3")?.textContent ?? "",
        tables: fig.querySelectorAll("details table").length,
      };
    }),
    focusable: document.querySelectorAll("a[href], summary, [tabindex='0']").length,
  }));
  const tabStops: string[] = [];
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  for (let i = 0; i < structure.focusable + 1; i++) {
    await page.keyboard.press("Tab");
    const stop = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (el === null || el === document.body) return "";
      return el.dataset.chart !== undefined
        ? `chart:${el.dataset.chart}`
        : el.tagName === "SUMMARY"
          ? `summary:${el.closest("figure")?.querySelector("[data-chart]")?.getAttribute("data-chart") ?? ""}`
          : `${el.tagName.toLowerCase()}:${el.textContent.trim()}`;
    });
    if (stop === "" || tabStops.includes(stop)) break;
    tabStops.push(stop);
  }
  await page.emulateMedia({ media: "print" });
  await page.waitForFunction(() => [...document.querySelectorAll("details")].every((d) => d.open));
  const print = await page.evaluate(() => ({
    closedDetails: [...document.querySelectorAll("details")].filter((d) => !d.open).length,
    hiddenTables: [...document.querySelectorAll("main table:not(.u-legend)")].filter(
      (t) => (t as HTMLElement).offsetHeight === 0,
    ).length,
    widestChartPx: Math.max(
      0,
      ...[...document.querySelectorAll<HTMLCanvasElement>("[data-chart] canvas")].map(
        (c) => c.getBoundingClientRect().width,
      ),
    ),
    skipShown: (document.querySelector(".skip") as HTMLElement).offsetHeight > 0,
  }));
  await page.emulateMedia({ media: "screen" });
  return { headings: structure.headings, charts: structure.charts, tabStops, print };
}
