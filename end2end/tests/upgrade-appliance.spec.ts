import { expect, test } from "@playwright/test";
import * as path from "node:path";
import { ADMIN, hydrated, logIn, uplift } from "./helpers";

// The demo fleet's hosted engine: the engine VM runs appliance 4.5.0 on host-01 (the SPM);
// the catalog offers 4.5.2. This test puts everything back as it found it (global maintenance
// off, the engine at 4.5.0 and running), so the files after it see the demo as it was.

const auth = { Authorization: "Basic " + Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString("base64") };

test("the appliance wizard names a failing check, then upgrades with live steps; rollback from the page", async ({ page, request }) => {
  test.setTimeout(240_000);
  const archive = path.join(process.env.UPLIFT_E2E_DATA_DIR!, `e2e-${Date.now()}.backup`);
  uplift(["backup", "create", "--file", archive]);
  await logIn(page);
  await page.goto("/hosted-engine");
  await hydrated(page);
  await expect(page.locator(".engine-version")).toHaveText("4.5.0");
  await expect(page.getByLabel("Hosted-engine storage used")).toBeVisible();

  await page.getByRole("button", { name: "Upgrade Appliance…" }).click();
  const wizard = page.getByRole("region", { name: "Upgrade Appliance" });
  await wizard.getByLabel(/4\.5\.2/).check();
  await wizard.getByLabel("Backup archive").setInputFiles(archive);
  await expect(wizard.locator(".archive-contents")).toContainText("It holds");
  await wizard.getByRole("button", { name: "Run checks" }).click();
  const checks = wizard.getByRole("list", { name: "Preflight checks" });
  await expect(checks.locator("li.failed")).toContainText("Global HA maintenance is not enabled");
  await expect(wizard.getByRole("button", { name: "Upgrade…" })).toBeDisabled();

  uplift(["hosted-engine", "set-maintenance", "--mode", "global"]);
  await wizard.getByRole("button", { name: "Check again" }).click();
  await expect(checks.locator("li.passed")).toHaveCount(7);
  await expect(checks.locator("li.failed")).toHaveCount(0);
  await wizard.getByRole("button", { name: "Upgrade…" }).click();
  const confirm = page.getByRole("dialog", { name: "Upgrade Appliance" });
  await expect(confirm).toContainText("Are you sure you want to continue?");
  await confirm.getByRole("button", { name: "Yes" }).click();

  const progress = page.getByRole("region", { name: "Progress" });
  // Steps show up while the job runs, before its end.
  await expect(progress.getByRole("cell", { name: "create the backup disk", exact: true })).toBeVisible();
  await expect(progress.locator(".job-status")).toHaveText("Succeeded", { timeout: 120_000 });
  await expect(progress).toContainText("HE_APPLIANCE_ENGINE_RESTORE_SUCCESS");
  await expect(page.locator(".engine-version")).toHaveText("4.5.2");
  await expect(page.locator(".appliance-os")).toHaveText("EL 9");
  await expect(page.getByRole("table", { name: "Backup disks" })).toContainText("hosted-engine-backup-");

  // Rollback needs the engine VM down; then it is done from the page.
  const vms: { id: string; name: string }[] = await (await request.get("/api/vms", { headers: auth })).json();
  const engine = vms.find((vm) => vm.name === "HostedEngine")!;
  expect((await request.post(`/api/vms/${engine.id}/stop`, { headers: auth, data: {} })).ok()).toBeTruthy();
  await expect(page.locator(".engine-vm-status")).toHaveText("Down", { timeout: 30_000 });
  await page.getByRole("button", { name: "Rollback…" }).click();
  const sure = page.getByRole("dialog", { name: "Rollback" });
  await expect(sure).toContainText("Are you sure you want to continue?");
  await sure.getByRole("button", { name: "Yes" }).click();
  await expect(progress.getByRole("heading")).toContainText("Hosted engine rollback");
  await expect(progress.locator(".job-status")).toHaveText("Succeeded", { timeout: 120_000 });
  await expect(page.locator(".engine-version")).toHaveText("4.5.0");
  await expect(page.locator(".engine-vm-status")).toHaveText("Up");

  uplift(["hosted-engine", "set-maintenance", "--mode", "none"]);
});
