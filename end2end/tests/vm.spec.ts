import { expect, test } from "@playwright/test";
import { hydrated, logIn } from "./helpers";

// vm-006 of the demo fleet is down, in cluster development (power_saving; host-15 and host-30 are in maintenance).
test("the VM page explains placement, starts the VM there and stops it after a confirmation", async ({ page }) => {
  await logIn(page);
  await page.goto("/vms?q=vm-006");
  await hydrated(page);
  await page.getByRole("link", { name: "vm-006" }).click();
  await expect(page.getByRole("heading", { name: /vm-006/ })).toBeVisible();
  await page.evaluate(() => ((window as any).__sameDocument = true));

  const panel = page.getByRole("region", { name: "Placement" });
  await expect(panel).toContainText("uses the scheduling policy power_saving");
  const summary = panel.locator(".placement-summary");
  await expect(summary).toContainText("If it started now, it would go to host-");
  const chosen = (await summary.textContent())!.match(/host-\d+/)![0];
  // Candidates come first; the first row is the chosen host.
  const firstRow = panel.getByRole("row").nth(1);
  await expect(firstRow).toContainText(chosen);
  await expect(firstRow).toContainText("Candidate");
  await expect(panel.getByRole("row").filter({ hasText: "Rejected by Status" }).first()).toContainText("it is Maintenance");

  const actions = page.getByRole("toolbar", { name: "VM actions" });
  await expect(actions.getByRole("button", { name: "Stop" })).toBeDisabled();
  await actions.getByRole("button", { name: "Start" }).click();
  await expect(page.getByText("VM vm-006 is Up.")).toBeVisible();
  await expect(page.locator(".facts")).toContainText(chosen);
  await expect(summary).toContainText("If it migrated now");

  // Stop asks first; Cancel and Escape leave the VM running.
  await actions.getByRole("button", { name: "Stop" }).click();
  const dialog = page.getByRole("dialog", { name: "Confirm" });
  await expect(dialog).toContainText("Stop VM vm-006?");
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog).toBeHidden();
  await actions.getByRole("button", { name: "Stop" }).click();
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(actions.getByRole("button", { name: "Start" })).toBeDisabled();

  await actions.getByRole("button", { name: "Stop" }).click();
  await dialog.getByRole("button", { name: "OK" }).click();
  await expect(page.getByText("VM vm-006 is Down.")).toBeVisible();
  await expect(actions.getByRole("button", { name: "Start" })).toBeEnabled();
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
});
