import { expect, test } from "@playwright/test";
import { hydrated, logIn, uplift } from "./helpers";

// host-15 and host-30 of the demo fleet are in maintenance with older packages: the periodic
// check leaves them alone, so only these tests check them.
test.describe.serial("update checks", () => {
  test("an admin checks a host from its context menu and the alert appears without reloading", async ({ page }) => {
    await logIn(page);
    await page.goto("/hosts?q=host-15");
    await hydrated(page);
    await page.getByRole("link", { name: "host-15" }).click();
    await expect(page.getByRole("heading", { name: /host-15/ })).toBeVisible();
    await expect(page.getByText("Upgrade is available.")).toHaveCount(0);
    await page.evaluate(() => ((window as any).__sameDocument = true));

    await page.getByRole("heading", { name: /host-15/ }).click({ button: "right" });
    const menu = page.getByRole("menu", { name: "Actions for host-15" });
    await expect(menu).toBeVisible();
    await menu.getByRole("menuitem", { name: "Check for Upgrade" }).click();

    const alert = page.getByRole("alert").filter({ hasText: "Upgrade is available." });
    await expect(alert).toBeVisible({ timeout: 30_000 });
    await expect(alert.getByRole("button", { name: "Upgrade", exact: true })).toBeEnabled();
    expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);

    // The alert's Upgrade opens the dialog that says what an upgrade will do.
    await alert.getByRole("button", { name: "Upgrade", exact: true }).click();
    const dialog = page.getByRole("dialog", { name: "Upgrade host-15" });
    await expect(dialog).toContainText("move the host to maintenance");
    await page.keyboard.press("Escape");
    await expect(dialog).toBeHidden();
  });

  test("the hosts list's context menu checks a host and its row shows the updates icon", async ({ page }) => {
    await logIn(page);
    await page.goto("/hosts?status=maintenance");
    await hydrated(page);
    const row = page.locator('tr[data-host="host-30"]');
    await expect(row.getByLabel("Updates available")).toHaveCount(0);
    await expect(page.getByRole("toolbar", { name: "Host actions" }).getByRole("button", { name: "Upgrade", exact: true })).toBeDisabled();
    await row.click({ button: "right" });
    await page.getByRole("menu", { name: "Actions for host-30" }).getByRole("menuitem", { name: "Check for Upgrade" }).click();
    await expect(row.getByLabel("Updates available")).toBeVisible({ timeout: 30_000 });
    // Selected, with updates, in maintenance: the menu bar's Upgrade is enabled for an admin.
    await expect(row).toHaveAttribute("aria-selected", "true");
    await expect(page.getByRole("toolbar", { name: "Host actions" }).getByRole("button", { name: "Upgrade", exact: true })).toBeEnabled();

    // host-15 and host-30 are in cluster "development": its Upgrade Status says so.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Clusters" }).click();
    // The Clusters page is a lazy route: the hosts list stays until its code has arrived.
    await expect(page.getByRole("heading", { name: "Clusters", level: 1 })).toBeVisible();
    await expect(page.getByRole("row").filter({ hasText: "development" })).toContainText("Upgrades available");
  });

  test("a viewer sees the alert but cannot upgrade or check", async ({ page }) => {
    uplift(["user", "add", "viewer", "--role", "viewer"], { UPLIFT_USER_PASSWORD: "viewer-password" });
    await logIn(page, "viewer", "viewer-password");
    await page.goto("/hosts?q=host-15");
    await hydrated(page);
    await page.getByRole("link", { name: "host-15" }).click();
    const alert = page.getByRole("alert").filter({ hasText: "Upgrade is available." });
    await expect(alert).toBeVisible();
    await expect(alert.getByRole("button", { name: "Upgrade", exact: true })).toBeDisabled();
    const toolbar = page.getByRole("toolbar", { name: "Host actions" });
    await expect(toolbar.getByRole("button", { name: "Upgrade", exact: true })).toBeDisabled();
    await expect(toolbar.getByRole("button", { name: "Check for Upgrade" })).toBeDisabled();
  });

  test("an admin edits a configuration value; a bad one is refused with the reason", async ({ page }) => {
    await logIn(page);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Config" }).click();
    await hydrated(page);
    const field = page.getByLabel("MaxParallelHostChecks");
    await field.fill("0");
    // The refusal is a bad request, as on the REST API, not a server error.
    const refused = page.waitForResponse((r) => r.url().includes("/rpc/set_config"));
    await field.press("Enter");
    expect((await refused).status()).toBe(400);
    await expect(page.getByRole("alert").filter({ hasText: "from 1 to 1000" })).toBeVisible();
    await field.fill("8");
    await field.press("Enter");
    await expect(page.getByRole("status").filter({ hasText: "MaxParallelHostChecks is now" })).toBeVisible();
    expect(uplift(["config", "get", "MaxParallelHostChecks"])).toBe("MaxParallelHostChecks: 8 version: general\n");
  });
});
