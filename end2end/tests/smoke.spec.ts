import { expect, Page, test } from "@playwright/test";
import { ADMIN, hydrated, logIn } from "./helpers";

// The smoke part of the suite: every page opens, hydrates and answers a click. `.ci/test` runs
// it a second time against the release binary and bundle (what `.ci/demo` serves), because the
// release build has full view types and its own WASM: a page can hydrate in debug and fail in
// release. Any error the page reports (a panic in the WASM, a hydration mismatch) fails it.

const auth = { Authorization: "Basic " + Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString("base64") };

type Named = { id: string; name: string };

/** Errors the page reports: uncaught exceptions, console errors (panics land there) and
 *  Content-Security-Policy violations (issue 17: the policy must break nothing). */
function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  void page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) =>
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI}`),
    );
  });
  page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console error: ${message.text()}`);
  });
  return errors;
}

/** The layout answers a click only once hydrated: the About dialog opens and closes. */
async function aboutWorks(page: Page) {
  await page.locator(".usermenu summary").click();
  await page.getByRole("menuitem", { name: "About" }).click();
  const dialog = page.getByRole("dialog", { name: "About Uplift" });
  await expect(dialog).toBeVisible();
  await dialog.getByRole("button", { name: "Close" }).click();
  await expect(dialog).toBeHidden();
}

test("every page opens, hydrates and answers a click", async ({ page, request }) => {
  const errors = collectErrors(page);
  const get = async <T>(path: string): Promise<T> => {
    const answer = await request.get(path, { headers: auth });
    expect(answer.ok(), path).toBeTruthy();
    return (await answer.json()) as T;
  };
  // The demo fleet's cluster "engine" and its host-01 (up, with older packages): no other
  // test uses them.
  const cluster = (await get<Named[]>("/api/clusters")).find((c) => c.name === "engine")!;
  const host = (await get<Named[]>("/api/hosts?search=host-01")).find((h) => h.name === "host-01")!;
  const vms = await get<Named[]>("/api/vms");
  // A job to open: an update check of host-01, which also gives the wizard a host to choose.
  const started = await request.post(`/api/hosts/${host.id}/upgradecheck`, { headers: auth });
  expect(started.status()).toBe(202);
  const job = ((await started.json()) as { job: Named }).job;
  await expect
    .poll(async () => (await get<{ ended_at: string | null }>(`/api/jobs/${job.id}`)).ended_at)
    .not.toBeNull();

  await logIn(page);
  // `.ci/demo` runs with the engine update check on, so an admin's first login may meet the
  // update dialog (the demo engine has an update): it is dismissed, as an admin would.
  const engine = page.getByRole("dialog", { name: "Engine update" });
  const shown = await engine.waitFor({ state: "visible", timeout: 3_000 }).then(
    () => true,
    () => false,
  );
  if (shown) {
    await engine.getByRole("button", { name: "Dismiss" }).click();
    await expect(engine).toBeHidden();
  }
  const pages: [string, string | RegExp][] = [
    ["/", "Dashboard"],
    ["/clusters", "Clusters"],
    [`/clusters/${cluster.id}`, cluster.name],
    [`/clusters/${cluster.id}/upgrade`, new RegExp(`Upgrade cluster ${cluster.name}`)],
    ["/hosts", "Hosts"],
    [`/hosts/${host.id}`, new RegExp(host.name)],
    ["/vms", "Virtual Machines"],
    [`/vms/${vms[0].id}`, new RegExp(vms[0].name)],
    ["/events", "Events"],
    [`/jobs/${job.id}`, /Host upgrade check/],
    ["/config", "Configuration"],
    ["/notifications", "Notifications"],
    ["/hosted-engine", "Hosted Engine"],
  ];
  for (const [path, heading] of pages) {
    await test.step(path, async () => {
      const response = await page.goto(path);
      // Every page has its own script nonce in a policy without 'unsafe-inline'.
      const policy = response!.headers()["content-security-policy"];
      expect(policy, path).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9_-]+'/);
      expect(policy, path).not.toContain("unsafe-inline");
      await hydrated(page);
      await expect(page.getByRole("heading", { level: 1, name: heading })).toBeVisible();
      await aboutWorks(page);
    });
  }

  // Page controls of their own, each handled by the WASM.
  await test.step("hosts: a click selects a row", async () => {
    await page.goto("/hosts");
    await hydrated(page);
    const row = page.locator("#hosts-table tbody tr").first();
    await row.locator("td").nth(1).click();
    await expect(row).toHaveAttribute("aria-selected", "true");
  });
  await test.step("hosts: the context menu opens where the pointer is (CSSOM, not inline style)", async () => {
    await page.goto("/hosts");
    await hydrated(page);
    const cell = page.locator("#hosts-table tbody tr").first().locator("td").nth(1);
    const box = (await cell.boundingBox())!;
    await cell.click({ button: "right", position: { x: 5, y: 5 } });
    const menu = page.locator(".context-menu");
    await expect(menu).toBeVisible();
    const at = (await menu.boundingBox())!;
    expect(Math.abs(at.x - (box.x + 5))).toBeLessThan(3);
    expect(Math.abs(at.y - (box.y + 5))).toBeLessThan(3);
    await page.keyboard.press("Escape");
  });
  await test.step("upgrade wizard: Next goes to the options", async () => {
    await page.goto(`/clusters/${cluster.id}/upgrade`);
    await hydrated(page);
    // Other hosts may have updates too (the periodic check): none chosen, then host-01.
    await page.getByRole("checkbox", { name: "Select all" }).check();
    await page.getByRole("checkbox", { name: "Select all" }).uncheck();
    const next = page.getByRole("button", { name: "Next" });
    await expect(next).toBeDisabled();
    await page.getByRole("checkbox", { name: "Upgrade host-01" }).check();
    await next.click();
    await expect(page.getByRole("heading", { name: "Options" })).toBeVisible();
  });
  await test.step("notifications: the method changes the form", async () => {
    await page.goto("/notifications");
    await hydrated(page);
    const form = page.getByRole("form", { name: "New subscription" });
    await form.getByRole("combobox").nth(1).selectOption("email");
    await expect(form).toContainText("Address");
  });

  expect(errors, errors.join("\n")).toEqual([]);
});
