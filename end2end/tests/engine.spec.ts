import { expect, test } from "@playwright/test";
import { Page } from "@playwright/test";
import { hydrated, logIn, uplift } from "./helpers";

async function logOut(page: Page) {
  // The user menu may still be open from the About click.
  const menu = page.locator("details.usermenu");
  if ((await menu.getAttribute("open")) === null) {
    await menu.locator("summary").click();
  }
  await page.getByRole("menuitem", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login$/);
}

// The demo fleet's engine runs 4.5.0 and its channel offers 4.5.2. The e2e server starts with
// the periodic engine check off, so the check here is the first.
test("About checks the engine; the update dialog shows once per user and version", async ({ page, browser }) => {
  await logIn(page);
  await expect(page.getByRole("dialog", { name: "Engine update" })).toHaveCount(0);
  await page.locator("details.usermenu summary").click();
  await page.getByRole("menuitem", { name: "About" }).click();
  const about = page.getByRole("dialog", { name: "About Uplift" });
  await expect(about).toContainText("4.5.0");
  await expect(about.locator(".engine-update")).toHaveText("The engine is up to date");
  await about.getByRole("button", { name: "Check now" }).click();
  await expect(about.locator(".engine-update")).toHaveText("An update is available: 4.5.2");
  await about.getByRole("button", { name: "Close" }).click();
  await expect(about).toBeHidden();

  // After the next login: the dialog. Escape (or Close) closes it for this session only.
  await logOut(page);
  await logIn(page);
  const dialog = page.getByRole("dialog", { name: "Engine update" });
  await expect(dialog).toContainText("An update for the engine is available: 4.5.2");
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await page.reload();
  await hydrated(page);
  await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();
  await expect(dialog).toHaveCount(0);
  await logOut(page);
  await logIn(page);
  await expect(dialog).toContainText("4.5.2");
  await dialog.getByRole("button", { name: "Close" }).click();
  await expect(dialog).toBeHidden();
  await page.goto("/hosts");
  await hydrated(page);
  await expect(dialog).toHaveCount(0);

  // Dismiss: never again for this version.
  await logOut(page);
  await logIn(page);
  await dialog.getByRole("button", { name: "Dismiss" }).click();
  await expect(dialog).toBeHidden();
  await logOut(page);
  await logIn(page);
  await page.reload();
  await hydrated(page);
  await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();
  await expect(page.getByRole("dialog", { name: "Engine update" })).toHaveCount(0);

  // Another admin still sees it.
  uplift(["user", "add", "admin2", "--role", "admin"], { UPLIFT_USER_PASSWORD: "second-admin-password" });
  const other = await (await browser.newContext()).newPage();
  await logIn(other, "admin2", "second-admin-password");
  await expect(other.getByRole("dialog", { name: "Engine update" })).toContainText("4.5.2");
});
