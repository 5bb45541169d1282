#!/usr/bin/env node
// Open an eksegress HTML report in headless Chromium and report what the page
// shows, as one JSON object on stdout. spec/59-report_browser_spec.lua compares
// it with the document; used by hand, it also checks the page on its own.
//
//   node tools/browser/check-report.js [--sort HEADER] [--filter TEXT]
//        [--screenshot FILE.png] [--chromium PATH] REPORT.html
//
// The browser is Debian's /usr/bin/chromium (or --chromium, or $CHROMIUM),
// driven by playwright-core (which downloads no browser), headless, with a
// fresh profile that is deleted afterwards. The report is loaded from a
// file:// URL; every other request the page makes is recorded and aborted.
//
// Output fields: ready (the script finished), title, rows (rows shown),
// total_rows, row_count_text, charts {id: {bars: {group: {category: n}},
// legend: {category: n}}}, sort {header, before, ascending, descending,
// aria: [after 1st click, after 2nd]} (the column's cell texts in row order),
// filter {text, rows, row_count_text, rows_after_clear}, injected (the value
// of window.__pwned, which hostile test documents try to set; null when no
// injected script ran), console [{type, text}], page_errors, requests (URLs
// other than the report's), problems (what the page itself got wrong).
//
// Exit status: 0 when there are no problems (the page ran to data-ready, no
// console error or warning, no page error, no request, nothing injected),
// 1 when there are, 2 on a usage error or when Chromium or playwright-core is
// missing.
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const { pathToFileURL } = require("url");

function usage(msg) {
  process.stderr.write(`check-report: ${msg}\nusage: node check-report.js [--sort HEADER] [--filter TEXT] `
    + "[--screenshot FILE.png] [--chromium PATH] REPORT.html\n");
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { sort: null, filter: null, screenshot: null,
    chromium: process.env.CHROMIUM || "/usr/bin/chromium", report: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--sort") opts.sort = value();
    else if (a === "--filter") opts.filter = value();
    else if (a === "--screenshot") opts.screenshot = value();
    else if (a === "--chromium") opts.chromium = value();
    else if (a.startsWith("--")) usage(`unknown option ${a}`);
    else if (opts.report) usage("one report at a time");
    else opts.report = a;
  }
  if (!opts.report) usage("no report given");
  if (!fs.existsSync(opts.report)) usage(`${opts.report}: no such file`);
  if (!fs.existsSync(opts.chromium)) usage(`${opts.chromium}: Chromium is not installed (apt-get install chromium)`);
  return opts;
}

// Slow runs (valgrind in `make check`) stretch the timeouts.
const SCALE = process.env.EKSEGRESS_SLOW ? 5 : 1;

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  let chromium;
  try {
    ({ chromium } = require("playwright-core"));
  } catch (e) {
    usage("playwright-core is not installed: run `npm ci` in tools/browser (tools/setup.sh does)");
  }
  const reportUrl = pathToFileURL(path.resolve(opts.report)).href;
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "eksegress-chromium-"));
  const out = { ready: false, console: [], page_errors: [], requests: [], problems: [] };
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: opts.chromium,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-default-apps", "--disable-extensions", "--no-default-browser-check"],
      viewport: { width: 1400, height: 1000 },
      timeout: 60000 * SCALE,
    });
    // Everything but the report itself is refused before it leaves the browser.
    const record = (url) => { if (url !== reportUrl && !out.requests.includes(url)) out.requests.push(url); };
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (url === reportUrl) return route.continue();
      record(url);
      return route.abort("blockedbyclient");
    });
    const page = context.pages()[0] || await context.newPage();
    page.on("request", (req) => record(req.url()));
    page.on("console", (msg) => out.console.push({ type: msg.type(), text: msg.text() }));
    page.on("pageerror", (err) => out.page_errors.push(String(err && err.message || err)));

    await page.goto(reportUrl, { waitUntil: "load", timeout: 30000 * SCALE });
    await page.waitForSelector("html[data-ready=true]", { timeout: 15000 * SCALE })
      .then(() => { out.ready = true; }, () => { out.problems.push("the page's script never set data-ready"); });

    out.title = await page.title();
    const rowState = () => page.evaluate(() => {
      const rows = Array.from(document.querySelectorAll("#report-table tbody tr"));
      const counter = document.getElementById("row-count");
      return { shown: rows.filter((r) => r.getClientRects().length > 0).length, total: rows.length,
        text: counter ? counter.textContent : null };
    });
    const initial = await rowState();
    out.rows = initial.shown;
    out.total_rows = initial.total;
    out.row_count_text = initial.text;

    out.charts = await page.evaluate(() => {
      const charts = {};
      document.querySelectorAll("[id^=chart-]").forEach((box) => {
        const bars = {}, legend = {};
        box.querySelectorAll("rect[data-group]").forEach((r) => {
          const g = r.getAttribute("data-group"), k = r.getAttribute("data-category");
          bars[g] = bars[g] || {};
          bars[g][k] = (bars[g][k] || 0) + Number(r.getAttribute("data-count"));
        });
        box.querySelectorAll(".legend li").forEach((li) => {
          legend[li.getAttribute("data-category")] = Number(li.getAttribute("data-count"));
        });
        const svgBox = box.querySelector("svg") && box.querySelector("svg").getBoundingClientRect();
        charts[box.id] = { bars, legend, drawn: !!svgBox && svgBox.width > 0 && svgBox.height > 0 };
      });
      return charts;
    });

    if (opts.sort) {
      const column = () => page.evaluate((header) => {
        const heads = Array.from(document.querySelectorAll("#report-table thead th"));
        const col = heads.findIndex((th) => th.textContent.trim() === header);
        if (col < 0) return null;
        return { cells: Array.from(document.querySelectorAll("#report-table tbody tr"))
          .map((r) => r.cells[col].textContent), aria: heads[col].getAttribute("aria-sort") };
      }, opts.sort);
      const before = await column();
      if (!before) {
        out.problems.push(`no column headed ${JSON.stringify(opts.sort)}`);
      } else {
        const button = page.locator("#report-table thead th button", { hasText: opts.sort }).first();
        await button.click();
        const asc = await column();
        await button.click();
        const desc = await column();
        out.sort = { header: opts.sort, before: before.cells, ascending: asc.cells, descending: desc.cells,
          aria: [asc.aria, desc.aria] };
      }
    }

    if (opts.filter !== null) {
      const input = page.locator("#filter");
      await input.click();
      await input.pressSequentially(opts.filter);
      const after = await rowState();
      await input.fill("");
      const cleared = await rowState();
      out.filter = { text: opts.filter, rows: after.shown, row_count_text: after.text, rows_after_clear: cleared.shown };
    }

    out.injected = await page.evaluate(() => (window.__pwned === undefined ? null : String(window.__pwned)));
    if (opts.screenshot) await page.screenshot({ path: opts.screenshot, fullPage: true });
  } finally {
    if (context) await context.close().catch(() => {});
    fs.rmSync(profile, { recursive: true, force: true });
  }

  for (const m of out.console) {
    if (m.type === "error" || m.type === "warning") out.problems.push(`console ${m.type}: ${m.text}`);
  }
  for (const e of out.page_errors) out.problems.push(`page error: ${e}`);
  for (const u of out.requests) out.problems.push(`the page requested ${u}`);
  if (out.injected !== null) out.problems.push(`injected script ran (window.__pwned = ${out.injected})`);
  process.stdout.write(JSON.stringify(out) + "\n");
  for (const p of out.problems) process.stderr.write(`check-report: ${p}\n`);
  return out.problems.length === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (err) => {
  process.stderr.write(`check-report: ${err && err.stack || err}\n`);
  process.exit(2);
});
