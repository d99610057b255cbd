import { expect, test } from "@playwright/test";
import { hydrated, logIn } from "./helpers";

test("a wrong password shows an error and opens no session", async ({ page, context }) => {
  await page.goto("/login");
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("alert")).toHaveText("Invalid username or password.");
  const cookies = await context.cookies();
  expect(cookies.filter((c) => c.name === "uplift_session")).toHaveLength(0);
  await page.goto("/hosts");
  await expect(page).toHaveURL(/\/login$/);
});

test("an admin logs in, filters hosts, opens one and logs out", async ({ page }) => {
  await logIn(page);
  await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Hosts" }).click();
  await expect(page.getByRole("heading", { name: "Hosts" })).toBeVisible();
  await expect(page.locator("#hosts-table tbody tr")).toHaveCount(25);

  // Filter by status: only hosts in maintenance remain, and the URL says so.
  await page.getByLabel("Status").selectOption("maintenance");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/status=maintenance/);
  const rows = page.locator("#hosts-table tbody tr");
  await expect(rows.first()).toBeVisible();
  const statuses = await rows.locator("td:nth-child(3)").allInnerTexts();
  expect(statuses.length).toBeGreaterThan(0);
  expect(new Set(statuses)).toEqual(new Set(["Maintenance"]));

  // Open the first of them: the General sub-tab comes first.
  const name = (await rows.first().locator("td").first().innerText()).trim();
  await rows.first().getByRole("link", { name }).click();
  await expect(page.getByRole("heading", { name: new RegExp(name) })).toBeVisible();
  await expect(page.getByRole("tab", { name: "General" })).toHaveAttribute("aria-selected", "true");
  const general = page.getByRole("tabpanel", { name: "General" });
  await expect(general).toContainText("Address");
  await expect(general).toContainText("Supported Cluster Levels");
  await expect(general).toContainText("Maintenance");

  // Log out from the user menu.
  await page.locator(".usermenu summary").click();
  await page.getByRole("menuitem", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/hosts");
  await expect(page).toHaveURL(/\/login$/);
});

test("the About dialog shows the product, its build and the engine's version", async ({ page }) => {
  await logIn(page);
  await page.locator(".usermenu summary").click();
  await page.getByRole("menuitem", { name: "About" }).click();
  const dialog = page.getByRole("dialog", { name: "About Uplift" });
  await expect(dialog).toContainText("Upgrade manager for virtualization clusters.");
  await expect(dialog.getByRole("definition").first()).toHaveText(/^\d+\.\d+\.\d+/);
  await expect(dialog).toContainText("4.5.0");
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("an admin can still log in and read the hosts list", async ({ page }) => {
    await page.goto("/login");
    await page.getByLabel("Username").fill("admin");
    await page.getByLabel("Password").fill("e2e-admin-password");
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();
    await page.goto("/hosts?status=maintenance");
    await expect(page.locator("#hosts-table tbody tr").first()).toContainText("Maintenance");
  });
});

test("clusters list and detail", async ({ page }) => {
  await logIn(page);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Clusters" }).click();
  await expect(page.getByRole("columnheader", { name: "Upgrade Status" })).toBeVisible();
  await page.getByRole("link", { name: "production" }).click();
  await expect(page.getByRole("heading", { name: "production" })).toBeVisible();
  await hydrated(page);
  await expect(page.locator(".facts")).toContainText("Compatibility Version");
});

test("the dashboard counts the fleet and the VMs list pages through it", async ({ page }) => {
  await logIn(page);
  // The demo fleet: 3 clusters, 36 hosts, 240 VMs.
  await expect(page.locator(".tile").filter({ hasText: "Clusters" })).toContainText("3");
  await expect(page.locator(".tile").filter({ hasText: "Hosts" }).first()).toContainText("36");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "VMs" }).click();
  await expect(page.getByText("Page 1 of 10 · 240 in all")).toBeVisible();
  await page.getByRole("link", { name: "Next" }).click();
  await expect(page.getByText("Page 2 of 10 · 240 in all")).toBeVisible();
  await page.getByLabel("Status").selectOption("down");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/status=down/);
  const statuses = await page.locator("table.grid tbody td:nth-child(2)").allInnerTexts();
  expect(new Set(statuses)).toEqual(new Set(["Down"]));
});

test("sorting the hosts list by a column header", async ({ page }) => {
  await logIn(page);
  await page.goto("/hosts");
  await hydrated(page);
  await page.getByRole("link", { name: "Memory" }).click();
  await expect(page).toHaveURL(/sort=memory&dir=asc/);
  await expect(page.getByRole("columnheader", { name: "Memory" })).toHaveAttribute("aria-sort", "ascending");
  await page.getByRole("link", { name: "Memory" }).click();
  await expect(page).toHaveURL(/sort=memory&dir=desc/);
  await expect(page.getByRole("columnheader", { name: "Memory" })).toHaveAttribute("aria-sort", "descending");
});
