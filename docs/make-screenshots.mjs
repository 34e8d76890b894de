// The README's pictures of the HTML report, made again from the current build:
//
//   npm run screenshots        (MCDIAG_CHROMIUM=/path/to/chromium to use another browser)
//
// It draws the demo's page (a built-in server, so the numbers are this
// machine's) and the analysis of the split-nagle fixture, opens each from
// file:// in headless Chromium, and saves one chart's figure each (title,
// chart, caption) as a PNG under docs/.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "bin", "mcdiag.js");
const CHROMIUM = process.env.MCDIAG_CHROMIUM ?? "/usr/bin/chromium";

/** Page, and the figures to save from it: the chart's id → the PNG under docs/. */
const SHOTS = [
  {
    args: ["demo", "--duration", "2s"],
    page: "demo.html",
    figures: { percentiles: "report-demo-percentiles.png" },
  },
  {
    args: ["analyze", join(ROOT, "fixtures", "captures", "split-nagle.pcapng"), "--port", "33631"],
    page: "analyze.html",
    figures: { "waterfall-1": "report-analyze-waterfall.png", "time-bars": "report-analyze-servers.png" },
  },
];

const dir = mkdtempSync(join(tmpdir(), "mcdiag-screenshots-"));
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 900 }, deviceScaleFactor: 1 });
  for (const shot of SHOTS) {
    const html = join(dir, shot.page);
    // demo and analyze exit 0 or 1 (findings); either way the page is written.
    try {
      execFileSync(process.execPath, [BIN, ...shot.args, "--html", html], { stdio: ["ignore", "ignore", "inherit"] });
    } catch (err) {
      if (err.status !== 1) throw err;
    }
    await page.goto(`file://${html}`);
    await page.waitForSelector("[data-chart]:not([data-drawn='true'])", { state: "detached" });
    for (const [id, png] of Object.entries(shot.figures)) {
      const out = join(ROOT, "docs", png);
      await page.locator(`#fig-${id}`).screenshot({ path: out });
      console.log(`${png}: ${Math.round(statSync(out).size / 1024)} kB`);
    }
  }
} finally {
  await browser.close();
  rmSync(dir, { recursive: true, force: true });
}
