import { expect, test } from "@playwright/test";
import { hydrated, logIn } from "./helpers";

const background = (page: import("@playwright/test").Page) =>
  page.evaluate(() => getComputedStyle(document.body).backgroundColor || getComputedStyle(document.documentElement).backgroundColor);

const isDark = (rgb: string) => {
  const [r, g, b] = rgb.match(/\d+/g)!.map(Number);
  return r + g + b < 3 * 80;
};

test("the portal follows a dark system, and the user menu's toggle overrides it across reloads", async ({ page }) => {
  await page.emulateMedia({ colorScheme: "dark" });
  await logIn(page);
  const html = page.locator("html");
  expect(isDark(await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor))).toBe(true);
  await page.locator("details.usermenu summary").click();
  const toggle = page.getByRole("menuitemcheckbox", { name: "Dark theme" });
  await expect(toggle).toHaveAttribute("aria-checked", "true");
  await toggle.click();
  await expect(html).toHaveAttribute("data-theme", "light");
  await expect(toggle).toHaveAttribute("aria-checked", "false");
  expect(isDark(await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor))).toBe(false);

  // The choice is a cookie: the server renders the next page in it.
  const answer = await page.request.get("/hosts");
  expect(await answer.text()).toContain('data-theme="light"');
  await page.reload();
  await hydrated(page);
  await expect(html).toHaveAttribute("data-theme", "light");

  // And back to dark, on a light system.
  await page.emulateMedia({ colorScheme: "light" });
  await page.locator("details.usermenu summary").click();
  await toggle.click();
  await expect(html).toHaveAttribute("data-theme", "dark");
  expect(isDark(await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor))).toBe(true);
});
