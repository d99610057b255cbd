import { expect, test } from "@playwright/test";
import { hydrated, logIn } from "./helpers";

// The portal by keyboard alone (issue 19): rows, the host context menu and a dialog.
// host-15 and host-30 of the demo fleet are in maintenance.
test("the host context menu opens and runs from the keyboard; the dialog keeps and returns the focus", async ({ page }) => {
  await logIn(page);
  await page.goto("/hosts?status=maintenance");
  await hydrated(page);
  const first = page.locator('tr[data-host="host-15"]');
  const row = page.locator('tr[data-host="host-30"]');
  await first.focus();
  await expect(first).toHaveAttribute("aria-selected", "true");
  // The arrows move between rows; the focused row is the selected one.
  await page.keyboard.press("ArrowDown");
  await expect(row).toBeFocused();
  await expect(row).toHaveAttribute("aria-selected", "true");
  await expect(first).toHaveAttribute("aria-selected", "false");

  // Shift+F10 opens the menu with its first item focused; arrows, Home and End move.
  await page.keyboard.press("Shift+F10");
  const menu = page.getByRole("menu", { name: "Actions for host-30" });
  await expect(menu).toBeVisible();
  await expect(menu.getByRole("menuitem", { name: "Check for Upgrade" })).toBeFocused();
  await page.keyboard.press("End");
  await expect(menu.getByRole("menuitem", { name: "Reinstall" })).toBeFocused();
  await page.keyboard.press("ArrowDown");
  await expect(menu.getByRole("menuitem", { name: "Check for Upgrade" })).toBeFocused();
  await page.keyboard.press("ArrowUp");
  await expect(menu.getByRole("menuitem", { name: "Reinstall" })).toBeFocused();
  await page.keyboard.press("ArrowUp");
  await expect(menu.getByRole("menuitem", { name: "Activate" })).toBeFocused();
  // Escape closes it and gives the focus back to the row.
  await page.keyboard.press("Escape");
  await expect(menu).toBeHidden();
  await expect(row).toBeFocused();

  // The context-menu key opens it too; Enter runs the focused item.
  await page.keyboard.press("ContextMenu");
  await expect(menu).toBeVisible();
  await page.keyboard.press("End");
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog", { name: "Reinstall host-30" });
  await expect(dialog).toBeVisible();
  // Tab and Shift+Tab stay inside the dialog.
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press("Tab");
    await expect(dialog.locator(":focus")).toHaveCount(1);
  }
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press("Shift+Tab");
    await expect(dialog.locator(":focus")).toHaveCount(1);
  }
  // Escape closes it, nothing is started, and the focus is back on the row.
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(row).toBeFocused();
  await expect(row).toContainText("Maintenance");
});

test("the user menu's About dialog returns the focus to the menu", async ({ page }) => {
  await logIn(page);
  const summary = page.locator("details.usermenu summary");
  await summary.focus();
  await page.keyboard.press("Enter");
  await page.getByRole("menuitem", { name: "About" }).focus();
  await page.keyboard.press("Enter");
  const about = page.getByRole("dialog", { name: "About Uplift" });
  await expect(about).toBeVisible();
  await expect(about.getByRole("button", { name: "Close" })).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(about).toBeHidden();
  await expect(page.getByRole("menuitem", { name: "About" })).toBeFocused();
});
