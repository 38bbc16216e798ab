// End-to-end test of the explorer in a real headless browser: open the page, switch an event
// off, run, wait for the chart, download the scenario as TOML, and check that the numbers the
// page shows equal a `paymarket run` of the downloaded file; then a comparison with 3
// replicates draws the effect with its band. Saves screenshots.
//
// Run by .ci/run: NODE_PATH=<playwright-core's node_modules> node tests/browser/explorer.cjs
// BIN OUTDIR (BIN: the paymarket binary; CHROMIUM: the browser, default /usr/bin/chromium).
"use strict";

const { chromium } = require("playwright-core");
const { spawn, execFileSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const [bin, outDir] = process.argv.slice(2);
if (!bin || !outDir) {
  console.error("usage: node explorer.cjs PAYMARKET_BINARY OUTDIR");
  process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });

function fail(message) {
  console.error(`explorer e2e: ${message}`);
  process.exit(1);
}

function check(ok, message) {
  if (!ok) fail(message);
  console.log(`ok: ${message}`);
}

async function main() {
  const server = spawn(bin, ["serve", "--port", "0", "--users", "4000", "--merchants", "400"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const address = await new Promise((resolve, reject) => {
    let text = "";
    server.stdout.on("data", (d) => {
      text += d;
      const m = text.match(/http:\/\/[0-9.]+:\d+/);
      if (m) resolve(m[0]);
    });
    server.on("exit", (code) => reject(new Error(`the server exited with ${code}`)));
    setTimeout(() => reject(new Error("the server did not print its address")), 30000);
  });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu"],
  });
  try {
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    const outside = [];
    page.on("request", (r) => { if (!r.url().startsWith(address) && !r.url().startsWith("blob:")) outside.push(r.url()); });
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(address);
    await page.waitForSelector("body[data-ready='1']");
    // Switch the RMB 50,000 deposit off.
    const deposit = page.locator("#events li", { hasText: "deposit" }).first();
    await deposit.locator("input.on").uncheck();
    check(await deposit.evaluate((li) => li.classList.contains("off")), "the deposit event is switched off");
    await page.click("#run");
    await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("Done"), null, { timeout: 120000 });
    const lines = await page.locator("#chart-value_share polyline").count();
    check(lines >= 2, `the value-share chart has ${lines} lines`);
    await page.screenshot({ path: path.join(outDir, "explorer.png"), fullPage: false });
    // The scenario as TOML.
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#toml")]);
    const toml = path.join(outDir, "explored.toml");
    await download.saveAs(toml);
    const text = fs.readFileSync(toml, "utf8");
    check(!text.includes('kind = "deposit"'), "the downloaded scenario has no deposit event");
    // The numbers shown against a CLI run of the downloaded file.
    const month = await page.locator("#last").getAttribute("data-month");
    const shown = await page.$$eval("#last td[data-value]", (cells) =>
      cells.filter((c) => c.dataset.value !== "").map((c) => [c.id, c.dataset.value]));
    check(shown.length >= 4, `the page shows ${shown.length} numbers for ${month}`);
    const runDir = path.join(outDir, "cli-run");
    execFileSync(bin, ["run", toml, "--out", runDir, "--quiet"], { stdio: "inherit" });
    const csv = fs.readFileSync(path.join(runDir, "platforms.csv"), "utf8").trim().split("\n");
    const header = csv[0].split(",");
    const col = (name) => header.indexOf(name);
    const rows = csv.slice(1).map((l) => l.split(",")).filter((r) => r[col("month")] === month);
    for (const [id, value] of shown) {
      const [, metric, platform] = id.match(/^last-([a-z_]+)-(.+)$/);
      const row = rows.find((r) => r[col("platform")] === platform);
      if (!row) fail(`no CLI row for ${platform} in ${month}`);
      const cli = Number(row[col(metric)]);
      if (Number(value) !== cli) fail(`${metric} of ${platform} in ${month}: the page shows ${value}, the CLI ${cli}`);
    }
    check(true, `every number shown for ${month} equals the CLI run of the downloaded scenario`);
    // A value the scenario's rules refuse: the message beside the field, nothing run.
    const churn = page.locator('[data-param="params.churn_rate"]');
    await churn.fill("5");
    await page.click("#run");
    const beside = page.locator('.problem[data-path="params.churn_rate"]');
    await beside.waitFor({ state: "visible" });
    const message = await beside.textContent();
    check(/churn_rate must be between 0 and 1/.test(message), `the refusal is shown beside the field: "${message}"`);
    await churn.fill("0.1");
    // Reset, then step: one month at a time.
    await page.click("#reset");
    await page.click("#step");
    await page.waitForFunction(() => document.getElementById("last").dataset.month !== "");
    await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("Done"), null, { timeout: 120000 });
    const first = await page.locator("#last").getAttribute("data-month");
    await page.click("#step");
    const second = await page.locator("#last").getAttribute("data-month");
    check(first === "2012-01" && second === "2012-02", `Step shows one month at a time (${first}, ${second})`);
    await page.click("#play");
    const all = await page.locator("#last").getAttribute("data-month");
    check(all === "2021-12", `Play shows every month received (${all})`);
    // A comparison with 3 replicates: the effect with its 95% band.
    await page.fill("#replicates", "3");
    await page.check("#compare");
    await page.click("#run");
    await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("Done"), null, { timeout: 180000 });
    check(await page.locator("#effect-box").isVisible(), "the effect chart is shown");
    const bands = await page.locator("#chart-effect polygon.band").count();
    const effectLines = await page.locator("#chart-effect polyline").count();
    check(bands >= 1 && effectLines >= 1, `the effect is drawn (${effectLines} lines) with its band (${bands})`);
    await page.locator("#effect-box").scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(outDir, "explorer-compare.png"), fullPage: true });
    check(outside.length === 0, `no request left the server (${outside.join(", ")})`);
    check(errors.length === 0, `no script error (${errors.join("; ")})`);
  } finally {
    await browser.close();
    server.kill();
  }
}

main().catch((e) => fail(e.stack || String(e)));
