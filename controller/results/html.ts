/**
 * The self-contained HTML page both reports use: charting libraries and data inlined, a
 * Content-Security-Policy that forbids every fetch, and a script that embeds each Vega-Lite
 * spec into its container and marks the container `data-rendered="ok"` or `"error"` (and the
 * body `data-charts="done"` once every chart has settled). Pure, given the libraries' code.
 * @module
 */
import type { ChartLibrary } from "./chart_libraries.ts";

/** The page's Content-Security-Policy: inline scripts and styles only, nothing fetched. */
export const CSP = "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; " +
  "style-src 'unsafe-inline'; img-src data: blob:; font-src data:";

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON safe to embed in a <script> element. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

function inlineScript(code: string): string {
  return code.replace(/<\/(script)/gi, "<\\/$1");
}

/** A number for a table cell ("–" when unknown). */
export function formatNumber(value: number | null | undefined, digits = 0): string {
  return value === null || value === undefined || !Number.isFinite(value)
    ? "–"
    : value.toLocaleString("en-US", {
      maximumFractionDigits: digits,
      minimumFractionDigits: digits,
    });
}

/** A fraction as a percentage for a table cell ("–" when unknown). */
export function formatPercent(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value)
    ? "–"
    : `${(value * 100).toFixed(1)}%`;
}

const STYLE =
  `body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 2em; }
table { border-collapse: collapse; } th, td { padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: right; }
th.text, td.text { text-align: left; }
.chart { width: 100%; margin: 1em 0; } .note { color: #a33; } .meta, .legend { color: #555; }`;

const EMBED = `(function () {
  var specs = JSON.parse(document.getElementById("spirit-specs").textContent);
  var ids = Object.keys(specs);
  Promise.all(ids.map(function (id) {
    var element = document.getElementById(id);
    return vegaEmbed(element, specs[id], { actions: false, renderer: "svg" }).then(function () {
      element.setAttribute("data-rendered", "ok");
    }, function (error) {
      element.setAttribute("data-rendered", "error");
      element.textContent = "Chart failed: " + error;
    });
  })).then(function () {
    document.body.setAttribute("data-charts", "done");
  });
})();`;

/** Inputs of {@linkcode htmlPage}. */
export interface HtmlPageInput {
  title: string;
  /** The body's HTML, with a `<div class="chart" id="...">` for every spec. */
  body: string;
  /** Vega-Lite specs keyed by container id. */
  specs: Record<string, object>;
  libraries: readonly ChartLibrary[];
}

/** The whole page. */
export function htmlPage(input: HtmlPageInput): string {
  const libraries = input.libraries.map((l) =>
    `<script data-library="${escapeHtml(l.name)}@${escapeHtml(l.version)}">\n${
      inlineScript(l.code)
    }\n</script>`
  ).join("\n");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(input.title)}</title>
<style>
${STYLE}
</style>
</head>
<body>
${input.body}
${libraries}
<script id="spirit-specs" type="application/json">${scriptJson(input.specs)}</script>
<script>
${EMBED}
</script>
</body>
</html>
`;
}

/** The container of one chart. */
export function chartContainer(id: string): string {
  return `<div class="chart" id="${escapeHtml(id)}"></div>`;
}
