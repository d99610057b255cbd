// How long Chromium takes to show a page and hydrate it (issue 20's benchmark), from a running
// Uplift (the release build of `.ci/demo`):
//   node hydration.mjs URL ADMIN_PASSWORD [PATH] [ROUNDS]
// Each round opens PATH in a fresh browser context (nothing cached: the WASM is downloaded and
// compiled again) and once more in the same context (cached). The time is the Performance API's
// clock at the moment the portal marks <body data-hydrated="true">, seen by a MutationObserver
// installed before the page's own scripts; also the DOMContentLoaded time.
import { chromium } from "@playwright/test";

const [url, password, path = "/hosts", rounds = "10"] = process.argv.slice(2);
if (!url || !password) {
  console.error("usage: node hydration.mjs URL ADMIN_PASSWORD [PATH] [ROUNDS]");
  process.exit(2);
}
const watch = () => {
  const done = () => {
    if (document.body && document.body.dataset.hydrated === "true" && !window.__hydratedAt) {
      window.__hydratedAt = performance.now();
    }
  };
  new MutationObserver(done).observe(document, { subtree: true, attributes: true, childList: true });
};
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu"],
});
const measure = async (page) => {
  await page.goto(`${url}${path}`);
  await page.waitForSelector('body[data-hydrated="true"]');
  return page.evaluate(() => ({
    hydrated: window.__hydratedAt,
    domContentLoaded: performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd,
  }));
};
try {
  const login = await browser.newContext();
  const first = await login.newPage();
  await first.goto(`${url}/login`);
  await first.getByLabel("Username").fill("admin");
  await first.getByLabel("Password").fill(password);
  await first.getByRole("button", { name: "Log in" }).click();
  await first.waitForURL(/\/$/);
  const state = await login.storageState();
  await login.close();
  const cold = [], warm = [], dcl = [];
  for (let i = 0; i < Number(rounds); i++) {
    const context = await browser.newContext({ storageState: state });
    await context.addInitScript(watch);
    const page = await context.newPage();
    const a = await measure(page);
    cold.push(a.hydrated);
    dcl.push(a.domContentLoaded);
    const b = await measure(page);
    warm.push(b.hydrated);
    await context.close();
  }
  const stats = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    const p = (q) => s[Math.round((s.length - 1) * q)];
    return `median ${p(0.5).toFixed(0)} ms, p95 ${p(0.95).toFixed(0)} ms, max ${s[s.length - 1].toFixed(0)} ms`;
  };
  console.log(`${path}, ${rounds} rounds`);
  console.log(`| hydrated, nothing cached | ${stats(cold)} |`);
  console.log(`| hydrated, cached | ${stats(warm)} |`);
  console.log(`| DOMContentLoaded, nothing cached | ${stats(dcl)} |`);
} finally {
  await browser.close();
}
