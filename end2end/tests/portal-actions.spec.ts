import { expect, Page, test } from "@playwright/test";
import { hydrated, logIn, uplift } from "./helpers";

// The seeds' actions that once lived only in the API (issue 19), on the demo fleet. Whatever
// these tests change they change back: later specs expect host-15 and host-30 in maintenance
// and the clusters on their own policies.

async function openCluster(page: Page, name: string) {
  await page.goto("/clusters");
  await hydrated(page);
  await page.getByRole("link", { name, exact: true }).click();
  await expect(page.getByRole("heading", { name, exact: true })).toBeVisible();
  await hydrated(page);
}

/** Follows a host's link from a list that live events may re-render under the click. */
async function followHost(page: Page, name: string) {
  const heading = page.getByRole("heading", { level: 1, name: new RegExp(name) });
  await expect(async () => {
    await page.getByRole("link", { name, exact: true }).first().click();
    await expect(heading).toBeVisible({ timeout: 2_000 });
  }).toPass({ timeout: 30_000 });
}

async function openHost(page: Page, name: string) {
  await page.goto(`/hosts?q=${name}`);
  await hydrated(page);
  await followHost(page, name);
}

test("cluster settings: in-cluster upgrade lists each VM to fix with a link and a retry", async ({ page }) => {
  await logIn(page);
  await openCluster(page, "development");
  const settings = page.getByRole("region", { name: "Settings" });
  await settings.getByLabel("Scheduling Policy").selectOption("in_cluster_upgrade");
  await settings.getByRole("button", { name: "Save" }).click();
  const alert = settings.getByRole("alert");
  await expect(alert).toContainText("The cluster cannot use in_cluster_upgrade yet");
  // vm-186 and vm-193 run pinned with CPU pinning; vm-078 is down but pinned too.
  for (const vm of ["vm-078", "vm-186", "vm-193"]) {
    await expect(alert.getByRole("link", { name: vm })).toBeVisible();
  }
  await expect(alert).toContainText("it has CPU pinning");
  // Retry asks again: still refused, nothing changed.
  await alert.getByRole("button", { name: "Retry" }).click();
  await expect(alert.getByRole("link", { name: "vm-186" })).toBeVisible();
  await expect(page.locator(".facts")).toContainText("power_saving");
  await alert.getByRole("link", { name: "vm-186" }).click();
  await expect(page.getByRole("heading", { name: /vm-186/ })).toBeVisible();
});

test("cluster settings: a level the hosts do not all support is refused naming them", async ({ page }) => {
  await logIn(page);
  await openCluster(page, "development");
  const settings = page.getByRole("region", { name: "Settings" });
  const level = settings.getByLabel("Compatibility Version");
  await expect(level).toHaveValue("4.7");
  await level.fill("4.8");
  await settings.getByRole("button", { name: "Save" }).click();
  await expect(settings.getByRole("alert")).toContainText("Cluster development cannot move to level 4.8: hosts host-03");
  await level.fill("four");
  await settings.getByRole("button", { name: "Save" }).click();
  await expect(settings.getByRole("alert")).toContainText('"four" is not a level like "4.7".');
  await expect(page.locator(".facts")).toContainText("4.7");
});

test("cluster settings: leaving in-cluster upgrade with mixed OS versions asks to force", async ({ page }) => {
  await logIn(page);
  // The engine cluster has no VM in the way, and runs RHEL 8 and RHEL 9 hosts.
  await openCluster(page, "engine");
  const settings = page.getByRole("region", { name: "Settings" });
  await settings.getByLabel("Scheduling Policy").selectOption("in_cluster_upgrade");
  await settings.getByRole("button", { name: "Save" }).click();
  await expect(page.getByText("Cluster engine is saved.")).toBeVisible();
  await expect(page.locator(".facts")).toContainText("in_cluster_upgrade");

  await settings.getByLabel("Scheduling Policy").selectOption("evenly_distributed");
  await settings.getByRole("button", { name: "Save" }).click();
  const dialog = page.getByRole("dialog", { name: "Leave in-cluster upgrade?" });
  await expect(dialog).toContainText("RHEL hosts still run major versions 8 and 9; not upgraded yet: host-01");
  // Cancel keeps the policy.
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog).toBeHidden();
  await expect(page.locator(".facts")).toContainText("in_cluster_upgrade");
  await settings.getByRole("button", { name: "Save" }).click();
  await dialog.getByRole("button", { name: "Leave anyway" }).click();
  await expect(page.getByText("Cluster engine is saved.")).toBeVisible();
  await expect(page.locator(".facts")).toContainText("evenly_distributed");
});

test("a VM is migrated by hand: a host the filters reject is refused with the reason, the best host takes it", async ({ page }) => {
  await logIn(page);
  await page.goto("/vms?q=vm-007");
  await hydrated(page);
  // The VMs list offers Migrate too.
  await page.getByRole("button", { name: "Migrate vm-007" }).click();
  const dialog = page.getByRole("dialog", { name: "Migrate vm-007" });
  await expect(dialog).toBeVisible();
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog).toBeHidden();

  await page.getByRole("link", { name: "vm-007" }).click();
  await expect(page.getByRole("heading", { name: /vm-007/ })).toBeVisible();
  await hydrated(page);
  const before = (await page.locator(".facts").textContent())!.match(/host-\d+/)![0];
  await page.getByRole("toolbar", { name: "VM actions" }).getByRole("button", { name: "Migrate…" }).click();
  await expect(dialog).toBeVisible();
  // Every host of the cluster, each with the scheduler's explanation.
  const maintenance = dialog.locator("label").filter({ hasText: "host-15" });
  await expect(maintenance).toContainText("Rejected by Status");
  await expect(dialog.locator("label").filter({ hasText: "Candidate" }).first()).toContainText("penalty");
  await maintenance.getByRole("radio").check();
  await dialog.getByRole("button", { name: "Migrate" }).click();
  await expect(dialog.getByRole("alert")).toContainText("Host host-15 cannot take VM vm-007");
  await expect(dialog.getByRole("alert")).toContainText("Status filter");
  await expect(page.locator(".facts")).toContainText(before);

  await dialog.getByRole("radio", { name: /The best host/ }).check();
  await dialog.getByRole("button", { name: "Migrate" }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByText(/VM vm-007 was migrated to host host-\d+\./)).toBeVisible({ timeout: 30_000 });
  await expect(page.locator(".facts")).not.toContainText(before);
});

test("reinstall: a host in maintenance is reinstalled; a failed reinstall leaves it Install Failed", async ({ page }) => {
  await logIn(page);
  await openHost(page, "host-30");
  const bar = page.getByRole("toolbar", { name: "Host actions" });
  await bar.getByRole("button", { name: "Reinstall" }).click();
  let dialog = page.getByRole("dialog", { name: "Reinstall host-30" });
  await expect(dialog).toContainText("management software");
  // Kept in maintenance: later tests expect it there.
  await dialog.getByLabel("Activate host after reinstall").uncheck();
  await dialog.getByRole("button", { name: "OK" }).click();
  await expect(page.getByText("reinstalled; the host stays in maintenance")).toBeVisible({ timeout: 30_000 });

  // A stand-in for a broken deployment: the simulator fails host-15's next reinstall.
  uplift(["sim", "fail", "host-15", "reinstall"]);
  try {
    await openHost(page, "host-15");
    await bar.getByRole("button", { name: "Reinstall" }).click();
    dialog = page.getByRole("dialog", { name: "Reinstall host-15" });
    await dialog.getByRole("button", { name: "OK" }).click();
    await expect(page.getByText(/reinstalling failed: .*simulated: fail = "reinstall"/)).toBeVisible({ timeout: 30_000 });
    await expect(page.getByRole("heading", { name: /host-15/ })).toContainText("Install Failed");
  } finally {
    uplift(["sim", "fail", "host-15", "none"]);
  }
  // From Install Failed, a reinstall (kept in maintenance) repairs it.
  await bar.getByRole("button", { name: "Reinstall" }).click();
  await dialog.getByLabel("Activate host after reinstall").uncheck();
  await dialog.getByRole("button", { name: "OK" }).click();
  await expect(page.getByRole("heading", { name: /host-15/ })).toContainText("Maintenance", { timeout: 30_000 });
  // Up hosts cannot be reinstalled.
  await openHost(page, "host-12");
  await expect(bar.getByRole("button", { name: "Reinstall" })).toBeDisabled();
});

test("a node host says it is upgraded as a whole image, always rebooted, and the levels after it", async ({ page }) => {
  await logIn(page);
  await page.goto("/hosts?cluster=&q=host-09");
  await hydrated(page);
  const row = page.locator('tr[data-host="host-09"]');
  await expect(row).toContainText("oVirt Node");
  await expect(page.locator('tr[data-host="host-09"]')).toBeVisible();
  await row.click({ button: "right" });
  await page.getByRole("menu", { name: "Actions for host-09" }).getByRole("menuitem", { name: "Check for Upgrade" }).click();
  await expect(row.getByLabel("Updates available")).toBeVisible({ timeout: 30_000 });

  await followHost(page, "host-09");
  const alert = page.getByRole("alert").filter({ hasText: "Upgrade is available." });
  await expect(alert).toContainText("This oVirt Node is upgraded as a whole to image 4.5.3 (now 4.5.2); the upgrade always reboots it.");
  await expect(alert).toContainText("After the upgrade the host supports cluster levels 4.7, 4.8.");
  const general = page.getByRole("tabpanel", { name: "General" });
  await expect(general).toContainText("oVirt Node");
  await expect(general).toContainText("Cluster Levels After Upgrade");

  await alert.getByRole("button", { name: "Upgrade", exact: true }).click();
  const confirm = page.getByRole("dialog", { name: "Upgrade Host" });
  await confirm.getByRole("button", { name: "OK" }).click();
  const dialog = page.getByRole("dialog", { name: "Upgrade host-09" });
  await expect(dialog).toContainText("install the new oVirt Node image 4.5.3 (now 4.5.2) as a whole");
  await expect(dialog).toContainText("a node always reboots");
  await expect(dialog.getByLabel("Reboot host after upgrade")).toHaveCount(0);
  await dialog.getByRole("button", { name: "Cancel" }).click();

  // A plain host says its levels too.
  await openHost(page, "host-15");
  await page.getByRole("toolbar", { name: "Host actions" }).getByRole("button", { name: "Check for Upgrade" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Upgrade is available." })).toContainText("After the upgrade the host supports cluster levels 4.7, 4.8.", { timeout: 30_000 });
  await expect(page.getByRole("tabpanel", { name: "General" })).toContainText("Plain host");
});
