import { expect, Page, test } from "@playwright/test";
import { ADMIN, hydrated, logIn } from "./helpers";

// The demo fleet's cluster "engine": host-01, host-04 and host-07 run hosted-engine HA (their
// agents active, score 3400), and the engine's VM runs on host-01. No other test changes them.

const auth = { Authorization: "Basic " + Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString("base64") };

async function openHost(page: Page, name: string) {
  await page.goto(`/hosts?q=${name}`);
  await hydrated(page);
  await page.getByRole("link", { name, exact: true }).click();
  await expect(page.getByRole("heading", { name: new RegExp(name) })).toBeVisible();
  await page.evaluate(() => ((window as any).__sameDocument = true));
}

test.describe.serial("hosted engine", () => {
  test("the hosts list crowns the engine VM's host and shows HA scores", async ({ page }) => {
    await logIn(page);
    await page.goto("/hosts?cluster=&q=host-0");
    await hydrated(page);
    const row = page.locator('tr[data-host="host-01"]');
    await expect(row.getByLabel("Runs the hosted engine VM")).toBeVisible();
    await expect(row.locator("td.ha")).toContainText("3400");
    await expect(page.locator('tr[data-host="host-02"] td.ha')).toHaveText("");
  });

  test("global HA maintenance is enabled and disabled from the context menu, after a confirmation", async ({ page }) => {
    await logIn(page);
    await openHost(page, "host-04");
    const general = page.getByRole("tabpanel", { name: "General" });
    await expect(general).toContainText("Hosted Engine HA: Active (Score: 3400)");

    await page.getByRole("heading", { name: /host-04/ }).click({ button: "right" });
    await page.getByRole("menu", { name: "Actions for host-04" }).getByRole("menuitem", { name: "Enable Global HA Maintenance" }).click();
    const dialog = page.getByRole("dialog", { name: "Enable Global HA Maintenance" });
    await expect(dialog).toContainText("no hosted-engine HA agent starts or moves the engine VM");
    // Cancel changes nothing.
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await expect(dialog).toBeHidden();
    await expect(general).toContainText("Hosted Engine HA: Active (Score: 3400)");

    await page.getByRole("heading", { name: /host-04/ }).click({ button: "right" });
    await page.getByRole("menu", { name: "Actions for host-04" }).getByRole("menuitem", { name: "Enable Global HA Maintenance" }).click();
    await page.getByRole("dialog", { name: "Enable Global HA Maintenance" }).getByRole("button", { name: "OK" }).click();
    await expect(general).toContainText("Hosted Engine HA: Global Maintenance Enabled", { timeout: 30_000 });

    // The menu bar offers the way back.
    await page.getByRole("toolbar", { name: "Host actions" }).getByRole("button", { name: "Disable Global HA Maintenance" }).click();
    await page.getByRole("dialog", { name: "Disable Global HA Maintenance" }).getByRole("button", { name: "OK" }).click();
    await expect(general).toContainText("Hosted Engine HA: Active (Score: 3400)", { timeout: 30_000 });
    expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
  });

  test("the HA line follows local maintenance and a reboot without a reload", async ({ page, request }) => {
    await logIn(page);
    await openHost(page, "host-07");
    const general = page.getByRole("tabpanel", { name: "General" });
    await expect(general).toContainText("Hosted Engine HA: Active (Score: 3400)");
    const hostId = page.url().split("/").pop()!;
    // Upgrading the host (through the API): maintenance sets local HA maintenance, the reboot
    // stops the agent for a while, activation clears it.
    const check = await request.post(`/api/hosts/${hostId}/upgradecheck`, { headers: auth });
    expect(check.status()).toBe(202);
    await expect
      .poll(async () => (await (await request.get(`/api/hosts/${hostId}`, { headers: auth })).json()).updates_available)
      .toBe(true);
    const upgrade = await request.post(`/api/hosts/${hostId}/upgrade`, { headers: auth, data: {} });
    expect(upgrade.status()).toBe(202);
    await expect(general).toContainText("Hosted Engine HA: Local Maintenance Enabled", { timeout: 30_000 });
    await expect(general).toContainText("Hosted Engine HA: Not Active", { timeout: 30_000 });
    await expect(general).toContainText("Hosted Engine HA: Active (Score: 3400)", { timeout: 30_000 });
    await expect(page.getByText("Local Maintenance Enabled")).toHaveCount(0);
    expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
  });

  test("the upgrade plan names the hosted-engine hosts and sends the engine VM's host last", async ({ page, request }) => {
    const clusters = (await (await request.get("/api/clusters", { headers: auth })).json()) as { id: string; name: string }[];
    const engine = clusters.find((c) => c.name === "engine")!;
    const checked = await request.post(`/api/clusters/${engine.id}/upgradecheck`, { headers: auth });
    expect(checked.status()).toBe(202);
    const job = ((await checked.json()) as { job: { id: string } }).job;
    await expect
      .poll(async () => (await (await request.get(`/api/jobs/${job.id}`, { headers: auth })).json()).ended_at)
      .not.toBeNull();
    await logIn(page);
    await page.goto(`/clusters/${engine.id}/upgrade`);
    await hydrated(page);
    await page.getByRole("button", { name: "Next" }).click();
    await page.getByRole("button", { name: "Next" }).click();
    const review = page.locator(".plan-hosted-engine");
    await expect(review).toContainText("Hosted-engine hosts:");
    await expect(review).toContainText("host-01");
    await expect(review).toContainText("Host host-01 runs the engine VM: it goes last");
  });
});
