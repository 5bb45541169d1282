--- The stylesheet and the script of the HTML report, inlined into every
-- report (the file must work with no network at all).
--
-- The report's Content-Security-Policy allows exactly these two blocks, by
-- their SHA-256 (CSS_SHA256, JS_SHA256): nothing else can run or style the
-- page, not even markup that slipped through escaping. After editing CSS or
-- JS, update the hash: spec/58-report_junit_sarif_html_spec.lua computes it and prints
-- the value to use.
--
-- The script reads the document from the <script type="application/json"
-- id="report-data"> block, draws the charts (inline SVG, built with DOM
-- calls, so no value is ever parsed as markup), and makes the table with
-- id "report-table" sortable (click a column header; again to reverse) and
-- filterable (every word typed must appear in the row). It sets
-- data-ready="true" on <html> when done (the browser test waits for it).
local M = {}

M.CSS = [==[
:root { color-scheme: light dark; --fg: #1d2330; --muted: #5b6474; --bg: #ffffff; --panel: #f4f6f9;
  --line: #d9dee6; --accent: #2456a6; --bad: #b42318; --good: #1f7a45; --warn: #9a6700; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6e9ef; --muted: #a3acbb; --bg: #14171c; --panel: #1d2128; --line: #343a45;
    --accent: #7aa7f0; --bad: #f07167; --good: #5cc98a; --warn: #e3b341; }
}
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1400px; padding: 24px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI",
  Roboto, sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 10px; }
.meta { color: var(--muted); margin: 0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 18px 0; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 16px;
  min-width: 130px; }
.card .n { display: block; font-size: 24px; font-weight: 600; }
.card.bad .n { color: var(--bad); }
.card.good .n { color: var(--good); }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; }
figure { margin: 0; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px; }
figcaption { font-weight: 600; margin-bottom: 6px; }
.charts svg[role=img] { display: block; width: 100%; max-width: 680px; height: auto; }
svg text { fill: var(--fg); font-size: 12px; }
svg text.total { fill: var(--muted); }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 6px 16px; padding: 0; margin: 8px 0 0; }
.legend li { display: flex; align-items: center; gap: 6px; }
.controls { display: flex; flex-wrap: wrap; align-items: center; gap: 12px; margin-bottom: 8px; }
input[type=search] { font: inherit; padding: 5px 8px; min-width: 280px; border: 1px solid var(--line);
  border-radius: 6px; background: var(--bg); color: var(--fg); }
.count { color: var(--muted); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--panel); position: sticky; top: 0; white-space: nowrap; }
th button { font: inherit; font-weight: 600; color: inherit; background: none; border: 0; padding: 0; cursor: pointer; }
th button::after { content: " \2195"; color: var(--muted); }
th[aria-sort=ascending] button::after { content: " \2191"; color: var(--accent); }
th[aria-sort=descending] button::after { content: " \2193"; color: var(--accent); }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td code, td.mono, td.ids { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
td code { overflow-wrap: anywhere; }
td.fix { min-width: 320px; }
td.mono, td.nowrap { white-space: nowrap; }
.pill { display: inline-block; padding: 1px 8px; border-radius: 10px; border: 1px solid currentColor;
  font-size: 12px; white-space: nowrap; }
.m-AWS_MANAGED { color: var(--warn); }
.m-CUSTOMER_ROUTED { color: var(--good); }
.m-CUSTOMER_ISOLATED, .m-other { color: #8e5bd6; }
.m-UNKNOWN, .bad { color: var(--bad); }
.good { color: var(--good); }
.warn { color: var(--warn); }
.muted { color: var(--muted); }
tr[hidden] { display: none; }
@media print { .controls { display: none; } th { position: static; } }
]==]

M.JS = [==[
(function () {
  "use strict";
  var SVGNS = "http://www.w3.org/2000/svg";
  var MODES = ["AWS_MANAGED", "CUSTOMER_ROUTED", "CUSTOMER_ISOLATED", "UNKNOWN"];
  var OUTCOMES = ["blocking", "warning", "info", "not evaluated", "pass"];
  var COLORS = {
    AWS_MANAGED: "#d08c00", CUSTOMER_ROUTED: "#1f8a4c", CUSTOMER_ISOLATED: "#7b4fc9", UNKNOWN: "#c0392b",
    blocking: "#c0392b", warning: "#d08c00", info: "#2f80c1", "not evaluated": "#8a8f98", pass: "#1f8a4c"
  };
  var EXTRA = ["#b4468f", "#2a9d8f", "#8c564b", "#5c6bc0", "#e76f51", "#6d8a1f"];

  function str(v) { return v === null || v === undefined ? "" : String(v); }
  function list(v) { return Array.isArray(v) ? v : []; }
  function modeOf(c) {
    var m = c && c.egress_mode;
    return typeof m === "string" && m !== "" ? m : "UNKNOWN";
  }
  function outcomeOf(r) {
    if (r.status === "fail") return OUTCOMES.indexOf(r.severity) >= 0 ? r.severity : "warning";
    if (r.status === "not_evaluated") return "not evaluated";
    return "pass";
  }
  function ordered(order) {
    return function (a, b) {
      var ia = order.indexOf(a), ib = order.indexOf(b);
      if (ia >= 0 && ib >= 0) return ia - ib;
      if (ia >= 0) return -1;
      if (ib >= 0) return 1;
      return a < b ? -1 : a > b ? 1 : 0;
    };
  }
  function tally(items, groupOf, categoryOf) {
    var groups = {}, totals = {};
    items.forEach(function (it) {
      var g = groupOf(it), k = categoryOf(it);
      if (!Object.prototype.hasOwnProperty.call(groups, g)) groups[g] = {};
      groups[g][k] = (groups[g][k] || 0) + 1;
      totals[k] = (totals[k] || 0) + 1;
    });
    return { groups: groups, totals: totals };
  }

  function chartsFor(doc) {
    var clusters = list(doc.clusters);
    if (doc.schema === "eksegress/preflight/1") {
      var rows = [];
      clusters.forEach(function (c) {
        list(c.results).forEach(function (r) { if (r && typeof r === "object") rows.push({ c: c, r: r }); });
      });
      return [{ id: "chart-cluster", order: OUTCOMES, data: tally(rows, function (x) {
        return str(x.c.account) + "/" + str(x.c.region) + "/" + str(x.c.name);
      }, function (x) { return outcomeOf(x.r); }) }];
    }
    return [
      { id: "chart-account", order: MODES, data: tally(clusters, function (c) { return str(c.account); }, modeOf) },
      { id: "chart-region", order: MODES, data: tally(clusters, function (c) { return str(c.region); }, modeOf) }
    ];
  }

  function svg(name, attrs, parent) {
    var e = document.createElementNS(SVGNS, name);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(e);
    return e;
  }
  // Shorten a label (from the end, marked with an ellipsis) until it fits.
  function fit(label, full, width) {
    label.textContent = full;
    for (var n = full.length - 1; n > 1 && label.getComputedTextLength() > width; n--) {
      label.textContent = full.slice(0, n) + "\u2026";
    }
  }

  function drawChart(box, spec) {
    var groups = Object.keys(spec.data.groups).sort();
    var cats = Object.keys(spec.data.totals).sort(ordered(spec.order));
    var color = {}, extra = 0;
    cats.forEach(function (k) { color[k] = COLORS[k] || EXTRA[extra++ % EXTRA.length]; });
    var max = 1;
    groups.forEach(function (g) {
      var t = 0;
      cats.forEach(function (k) { t += spec.data.groups[g][k] || 0; });
      if (t > max) max = t;
    });
    var labelW = 250, barW = 340, rowH = 26, pad = 6;
    var chart = svg("svg", { viewBox: "0 0 " + (labelW + barW + 48) + " " + (groups.length * rowH + 2 * pad),
      width: "100%", role: "img", "aria-label": box.getAttribute("data-title") || "" });
    box.appendChild(chart); // attached first: fit() measures rendered text
    groups.forEach(function (g, i) {
      var y = pad + i * rowH, x = labelW, total = 0;
      var row = svg("g", { "class": "bar", "data-group": g }, chart);
      var label = svg("text", { x: labelW - 8, y: y + 17, "text-anchor": "end" }, row);
      fit(label, g, labelW - 12);
      svg("title", {}, row).textContent = g;
      cats.forEach(function (k) {
        var n = spec.data.groups[g][k] || 0;
        if (!n) return;
        var w = n / max * barW;
        var seg = svg("rect", { x: x, y: y + 4, width: w, height: rowH - 8, fill: color[k],
          "data-group": g, "data-category": k, "data-count": n }, row);
        svg("title", {}, seg).textContent = g + ": " + k + " \u00d7 " + n;
        x += w;
        total += n;
      });
      svg("text", { x: x + 6, y: y + 17, "class": "total" }, row).textContent = String(total);
    });
    var legend = document.createElement("ul");
    legend.className = "legend";
    cats.forEach(function (k) {
      var li = document.createElement("li");
      li.setAttribute("data-category", k);
      li.setAttribute("data-count", String(spec.data.totals[k]));
      var sw = svg("svg", { width: 12, height: 12, "aria-hidden": "true" }, li);
      svg("rect", { width: 12, height: 12, rx: 2, fill: color[k] }, sw);
      li.appendChild(document.createTextNode(k + " " + spec.data.totals[k]));
      legend.appendChild(li);
    });
    box.appendChild(legend);
  }

  function setupTable(table, input, counter) {
    var body = table.tBodies[0], heads = table.tHead.rows[0].cells;
    var rows = Array.prototype.slice.call(body.rows);
    var noun = table.getAttribute("data-noun") || "rows";
    var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
    var index = new Map(), haystack = new Map();
    rows.forEach(function (r, i) {
      index.set(r, i);
      var cells = Array.prototype.map.call(r.cells, function (td) { return td.textContent; });
      haystack.set(r, cells.join("\n").toLowerCase());
    });
    function key(r, col) {
      var td = r.cells[col];
      return td.hasAttribute("data-sort") ? td.getAttribute("data-sort") : td.textContent;
    }
    function compare(a, b, type) {
      if (a === "" || b === "") return a === b ? 0 : a === "" ? 1 : -1;
      if (type === "number") return parseFloat(a) - parseFloat(b);
      return collator.compare(a, b);
    }
    var current = -1, dir = 1;
    Array.prototype.forEach.call(heads, function (th, col) {
      var button = th.querySelector("button");
      if (!button) return;
      button.addEventListener("click", function () {
        dir = current === col ? -dir : 1;
        current = col;
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
        var type = th.getAttribute("data-type");
        rows.sort(function (a, b) {
          return compare(key(a, col), key(b, col), type) * dir || index.get(a) - index.get(b);
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
    function filter() {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean), shown = 0;
      rows.forEach(function (r) {
        var h = haystack.get(r);
        var keep = words.every(function (w) { return h.indexOf(w) >= 0; });
        r.hidden = !keep;
        if (keep) shown++;
      });
      counter.textContent = shown + " of " + rows.length + " " + noun;
    }
    input.addEventListener("input", filter);
    filter();
  }

  var doc = JSON.parse(document.getElementById("report-data").textContent);
  chartsFor(doc).forEach(function (spec) {
    var box = document.getElementById(spec.id);
    if (box) drawChart(box, spec);
  });
  var table = document.getElementById("report-table");
  if (table) setupTable(table, document.getElementById("filter"), document.getElementById("row-count"));
  document.documentElement.setAttribute("data-ready", "true");
})();
]==]

M.CSS_SHA256 = "sha256-r0ti5IhmTAgUB/LdiA1L0DpgKEvLvvkzHxk6GkMvZow="
M.JS_SHA256 = "sha256-Icn5ZxkC2D/peIR2FwpUwxpRLrqvY7hdO3wb+t0FUSM="

return M
