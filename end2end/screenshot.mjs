// The README's screenshot of the current portal, from a running Uplift (the release build of
// `.ci/demo`): node screenshot.mjs URL ADMIN_PASSWORD OUT.png [PATH]
import { chromium } from "@playwright/test";

const [url, password, out, path = "/"] = process.argv.slice(2);
if (!url || !password || !out) {
  console.error("usage: node screenshot.mjs URL ADMIN_PASSWORD OUT.png [PATH]");
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  await page.goto(`${url}/login`);
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(/\/$/);
  await page.goto(`${url}${path}`);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.waitForTimeout(1000);
  await page.screenshot({ path: out });
} finally {
  await browser.close();
}
