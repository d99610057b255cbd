import { expect, test } from "@playwright/test";
import { ADMIN, hydrated, logIn } from "./helpers";

// Issue 21 on the demo fleet: a Simulator provider registered on the Providers page, host-30
// (in maintenance, older qemu-kvm and libvirt) linked on its Errata tab, the list filtered to
// security, two errata installed from Maintenance, the job watched, the list shrinking.
// host-30 goes back to maintenance at the end: later specs expect it there.

const auth = { Authorization: "Basic " + Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString("base64") };

test("errata: register a provider, link host-30, filter to security, install two, the list shrinks", async ({ page, request }) => {
  await logIn(page);
  await page.goto("/providers");
  await hydrated(page);
  await page.getByLabel("Name").fill("Demo Satellite");
  await page.getByLabel("Kind").selectOption("sim");
  await page.getByRole("button", { name: "Add provider" }).click();
  const provider = page.locator('tr[data-provider="Demo Satellite"]');
  await expect(provider).toContainText("Simulator");
  await provider.getByRole("button", { name: "Test" }).click();
  await expect(page.getByText(/Test passed: The simulator answers; its fleet declares 6 errata/)).toBeVisible();

  const hosts = (await (await request.get("/api/hosts?q=host-30", { headers: auth })).json()) as { id: string; name: string }[];
  const host = hosts.find((h) => h.name === "host-30")!;
  await page.goto(`/hosts/${host.id}`);
  await hydrated(page);
  await page.getByRole("tab", { name: /^Errata/ }).click();
  await expect(page.getByText("Not linked to a content provider.", { exact: true })).toBeVisible();
  await page.getByLabel("Provider", { exact: true }).selectOption({ label: "Demo Satellite" });
  await page.getByRole("button", { name: "Save link" }).click();
  await expect(page.getByText("Content can be installed on this host.")).toBeVisible();
  await expect(page.getByRole("tab", { name: "Errata (4 security, 1 bug fix, 1 enhancement)" })).toBeVisible();

  const rows = page.getByRole("table", { name: "Errata" }).locator("tbody tr");
  await expect(rows).toHaveCount(6);
  await page.getByLabel("Type", { exact: true }).selectOption("security");
  await expect(rows).toHaveCount(4);
  await rows.filter({ hasText: "RHSA-2026:1301" }).click();
  await expect(page.getByRole("article", { name: "Erratum details" })).toContainText("unprivileged client read files as root");

  await page.getByLabel("Install RHSA-2026:1234").check();
  await page.getByLabel("Install RHSA-2026:1301").check();
  await page.getByRole("button", { name: "Install selected (2)" }).click();
  const dialog = page.getByRole("dialog", { name: "Install 2 errata on host-30?" });
  await expect(dialog).toContainText("the content provider installs the errata, and the host is activated");
  await dialog.getByRole("button", { name: "Install" }).click();
  await expect(page.getByRole("status", { name: "Job progress" })).toContainText("Errata install");

  // The security filter stays on while the page follows the job; two security errata remain.
  await expect(rows).toHaveCount(2, { timeout: 45_000 });
  await expect(page.getByRole("tab", { name: "Errata (2 security, 1 bug fix, 1 enhancement)" })).toBeVisible();
  await expect(rows.filter({ hasText: "RHSA-2026:1234" })).toHaveCount(0);
  await expect(page.locator("h1")).toContainText("Up");

  // The clusters list counts the linked host's security errata.
  await page.goto("/clusters");
  await hydrated(page);
  const development = page.getByRole("row").filter({ has: page.getByRole("link", { name: "development", exact: true }) });
  await expect(development.locator("td").last()).toHaveText("2");
  // And so does the dashboard.
  await page.goto("/");
  await hydrated(page);
  await expect(page.getByRole("region", { name: "Security errata" })).toContainText("development: 2 applicable security errata");

  // Back to maintenance for the specs after this one.
  const deactivated = await request.post(`/api/hosts/${host.id}/deactivate`, { headers: auth });
  expect(deactivated.status()).toBe(202);
  const job = (await deactivated.json()).job as { id: string };
  await expect
    .poll(async () => (await (await request.get(`/api/jobs/${job.id}`, { headers: auth })).json()).status, { timeout: 30_000 })
    .toBe("succeeded");
});
