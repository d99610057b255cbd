import { expect, Page, test } from "@playwright/test";
import { hydrated, logIn } from "./helpers";

// host-03 of the demo fleet is up with four running VMs (none pinned) and older packages.
async function openHost03WithUpdates(page: Page) {
  await logIn(page);
  await page.goto("/hosts?q=host-03");
  await hydrated(page);
  await page.getByRole("link", { name: "host-03" }).click();
  await expect(page.getByRole("heading", { name: /host-03/ })).toBeVisible();
  const alert = page.getByRole("alert").filter({ hasText: "Upgrade is available." });
  if (!(await alert.isVisible())) {
    await page.getByRole("toolbar", { name: "Host actions" }).getByRole("button", { name: "Check for Upgrade" }).click();
  }
  await expect(alert).toBeVisible({ timeout: 30_000 });
  return alert;
}

test.describe.serial("upgrading a host", () => {
  test("Cancel in the confirmation changes nothing", async ({ page }) => {
    const alert = await openHost03WithUpdates(page);
    await alert.getByRole("button", { name: "Upgrade", exact: true }).click();
    const confirm = page.getByRole("dialog", { name: "Upgrade Host" });
    await expect(confirm).toContainText("There are running VMs on the host. Would you like to continue?");
    await confirm.getByRole("button", { name: "Cancel" }).click();
    await expect(confirm).toBeHidden();
    await page.waitForTimeout(1500);
    await expect(page.locator("h1 .badge")).toHaveText("Up");
    await expect(page.getByRole("status", { name: "Job progress" })).toHaveCount(0);
    await expect(alert).toBeVisible();
  });

  test("an admin upgrades a host with running VMs and watches it come back Up", async ({ page }) => {
    const alert = await openHost03WithUpdates(page);
    await page.evaluate(() => ((window as any).__sameDocument = true));
    await page.getByRole("toolbar", { name: "Host actions" }).getByRole("button", { name: "Upgrade", exact: true }).click();
    await page.getByRole("dialog", { name: "Upgrade Host" }).getByRole("button", { name: "OK" }).click();
    const dialog = page.getByRole("dialog", { name: "Upgrade host-03" });
    await expect(dialog.getByLabel("Reboot host after upgrade")).toBeChecked();
    await dialog.getByRole("button", { name: "OK" }).click();

    const badge = page.locator("h1 .badge");
    await expect(page.getByRole("status", { name: "Job progress" })).toBeVisible();
    await expect(badge).toHaveText("Installing", { timeout: 30_000 });
    await expect(badge).toHaveText("Reboot", { timeout: 30_000 });
    await expect(badge).toHaveText("Up", { timeout: 60_000 });
    await expect(page.getByRole("status", { name: "Job progress" })).toContainText("Host upgrade: Succeeded");
    await expect(alert).toHaveCount(0);
    await expect(page.locator(".facts")).toContainText("RHEL 9.4");
    expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);

    // The job's page lists its steps.
    await page.getByRole("status", { name: "Job progress" }).getByRole("link", { name: "Details" }).click();
    await expect(page.getByRole("heading", { name: /Host upgrade/ })).toBeVisible();
    await expect(page.locator("table.grid")).toContainText("install");
    await expect(page.locator("table.grid")).toContainText("reboot");
  });
});
