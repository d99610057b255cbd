import { expect, test } from "@playwright/test";
import { hydrated, logIn } from "./helpers";

// The production cluster of the demo fleet: no host there fails its upgrade. Three of its hosts
// are upgraded with the wizard; the run is watched live on the progress page and in the
// clusters list of a second tab.
test("an admin plans a rolling upgrade in the wizard, starts it and watches it reach 100 %", async ({ page, context }) => {
  test.setTimeout(240_000);
  await logIn(page);
  await page.goto("/clusters");
  await hydrated(page);
  await page.getByRole("link", { name: "production" }).click();
  await expect(page.getByRole("heading", { name: "production" })).toBeVisible();
  await page.getByRole("toolbar", { name: "Cluster actions" }).getByRole("button", { name: "Check for Upgrade" }).click();
  // The check is followed live: its summary replaces the notice when it ends.
  await expect(page.getByText(/hosts checked, 0 failed/)).toBeVisible({ timeout: 60_000 });
  await expect(page.getByText("Upgrades available")).toBeVisible();
  await page.getByRole("link", { name: "Upgrade…" }).click();
  await expect(page.getByRole("heading", { name: "Upgrade cluster production" })).toBeVisible();
  await page.evaluate(() => ((window as any).__sameDocument = true));

  // Step 1: three hosts.
  await page.getByLabel("Select all").uncheck();
  await expect(page.getByText("0 hosts chosen.")).toBeVisible();
  for (const host of ["host-02", "host-05", "host-11"]) {
    await page.getByLabel(`Upgrade ${host}`).check();
  }
  await expect(page.getByText("3 hosts chosen.")).toBeVisible();
  await page.getByRole("button", { name: "Next" }).click();

  // Step 2: options.
  await expect(page.getByLabel("Max parallel hosts")).toHaveValue("auto");
  await page.getByLabel(/Stop pinned VMs/).check();
  await page.getByRole("button", { name: "Next" }).click();

  // Step 3: the preview picture and its totals.
  await expect(page.getByRole("img", { name: "Plan preview" })).toBeVisible();
  await expect(page.locator(".plan-totals")).toContainText("live migrations");
  await expect(page.locator(".plan-totals")).toContainText(/\(\d+ VMs move twice\)/);
  await expect(page.locator(".plan-totals")).toContainText("GiB moved");
  await expect(page.getByRole("img", { name: "Plan preview" })).toContainText("host-05");
  await page.getByRole("button", { name: "Start" }).click();

  const run = page.getByRole("region", { name: "Upgrade progress" });
  await expect(run).toBeVisible();
  const list = await context.newPage();
  await list.goto("/clusters");
  await hydrated(list);
  const row = list.getByRole("row").filter({ hasText: "production" });
  await expect(row.getByRole("progressbar", { name: "Upgrade progress" })).toBeVisible();
  // The dashboard's picture follows the run live: a production host leaves service and, at
  // the end, the three chosen hosts are up to date.
  const dashboard = await context.newPage();
  await dashboard.goto("/");
  await hydrated(dashboard);
  const production = dashboard.locator('figure[data-cluster="production"]');
  await expect(production.locator("[data-condition=upgrading], [data-condition=maintenance]").first()).toBeVisible({ timeout: 60_000 });

  await expect(run.locator(".run-status")).toHaveText("Succeeded", { timeout: 200_000 });
  await expect(run).toContainText("100%");
  await expect(run.getByRole("img", { name: "Upgrade timeline" })).toContainText("host-11");
  await expect(row.getByRole("progressbar")).toHaveCount(0);
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
  for (const host of ["host-02", "host-05", "host-11"]) {
    await expect(production.locator(`[data-host="${host}"]`)).toHaveAttribute("data-condition", "up_to_date");
  }

  await run.getByRole("link", { name: "All events of this run" }).click();
  // The run page says the same words (its status line, its own event list): wait for the
  // Events page and read its table.
  await expect(page.getByRole("heading", { name: "Events", level: 1 })).toBeVisible();
  const events = page.getByRole("main").getByRole("table");
  await expect(events.getByText("Upgrade of cluster production finished.")).toBeVisible();
  await expect(events.getByText(/Upgrade of host host-02 was started by the cluster upgrade/)).toBeVisible();
});

test("a run is paused, resumed and cancelled from its progress page", async ({ page }) => {
  test.setTimeout(240_000);
  await logIn(page);
  await page.goto("/clusters");
  await hydrated(page);
  await page.getByRole("link", { name: "production" }).click();
  await page.getByRole("link", { name: "Upgrade…" }).click();
  await expect(page.getByRole("heading", { name: "Upgrade cluster production" })).toBeVisible();
  await hydrated(page);
  await page.getByRole("button", { name: "Next" }).click();
  // One host at a time, so there is always a next host to hold back.
  await page.getByLabel("Max parallel hosts").selectOption("1");
  await page.getByLabel(/Stop pinned VMs/).check();
  await page.getByRole("button", { name: "Next" }).click();
  await expect(page.locator(".plan-totals")).toContainText("Strategy sequential");
  await page.getByRole("button", { name: "Start" }).click();

  const run = page.getByRole("region", { name: "Upgrade progress" });
  const actions = run.getByRole("toolbar", { name: "Run actions" });
  await actions.getByRole("button", { name: "Pause" }).click();
  await expect(run.locator(".run-status")).toHaveText("Paused", { timeout: 120_000 });
  await expect(actions.getByRole("button", { name: "Pause" })).toBeDisabled();
  // The hosts not started yet are listed too, each with the wave the plan gives it.
  const waiting = run.locator("tr.waiting");
  await expect(waiting.first()).toContainText("Not started");
  const started = await run.locator("tbody tr:not(.waiting)").count();
  expect(started).toBeGreaterThan(0);
  const wave = Number(await waiting.first().locator("td").nth(1).textContent());
  expect(wave).toBe(started + 1);
  await actions.getByRole("button", { name: "Resume" }).click();
  await expect(run.locator(".run-status")).toHaveText("Running");

  await actions.getByRole("button", { name: "Cancel" }).click();
  const confirm = run.getByRole("alertdialog", { name: "Cancel the upgrade" });
  await confirm.getByRole("button", { name: "OK" }).click();
  await expect(run.locator(".run-status")).toHaveText("Cancelled", { timeout: 120_000 });
  await expect(run).toContainText("was cancelled");
  // Those it never started are named as not upgraded.
  await expect(run.locator("tr.waiting").first()).toContainText("Not upgraded");
});
