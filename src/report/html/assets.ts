import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

/** What the page inlines: uPlot's script and style (from its npm package) and mcdiag's chart script. */
export interface PageAssets {
  uplotJs: string;
  uplotCss: string;
  chartsJs: string;
}

let cached: PageAssets | undefined;

/** Read once per process; the page needs no network, so everything it runs is inlined from these. */
export function pageAssets(): PageAssets {
  if (cached !== undefined) return cached;
  const require = createRequire(import.meta.url);
  const read = (what: string, path: () => string) => {
    try {
      return readFileSync(path(), "utf8");
    } catch (err) {
      // A broken installation, not bad input: an internal error.
      throw new Error(`the HTML report cannot find ${what}: ${(err as Error).message} (reinstall mcdiag: npm ci)`, {
        cause: err,
      });
    }
  };
  cached = {
    uplotJs: read("uPlot", () => require.resolve("uplot/dist/uPlot.iife.min.js")),
    uplotCss: read("uPlot's stylesheet", () => require.resolve("uplot/dist/uPlot.min.css")),
    // Compiled from client/*.ts by `npm run build` (a browser script: no imports, DOM types).
    chartsJs: read("its chart script", () => new URL("./client/charts.js", import.meta.url).pathname),
  };
  return cached;
}
