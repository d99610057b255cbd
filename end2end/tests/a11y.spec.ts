import AxeBuilder from "@axe-core/playwright";
import { expect, Page, test } from "@playwright/test";
import { hydrated, logIn, uplift } from "./helpers";

// axe-core on every page of the portal, as an admin and as a viewer (issue 19): no serious or
// critical violation of WCAG 2.1 A and AA.

type Named = { id: string; name: string };

async function pages(page: Page): Promise<string[]> {
  const get = async <T>(path: string): Promise<T> => {
    const answer = await page.request.get(path);
    expect(answer.ok(), path).toBe(true);
    return (await answer.json()) as T;
  };
  const clusters = await get<Named[]>("/api/clusters");
  const hosts = await get<Named[]>("/api/hosts?q=host-09");
  const vms = await get<Named[]>("/api/vms?q=vm-007");
  const jobs = await get<Named[]>("/api/jobs");
  const cluster = clusters.find((c) => c.name === "development")!;
  const list = [
    "/",
    "/clusters",
    `/clusters/${cluster.id}`,
    `/clusters/${cluster.id}/upgrade`,
    "/hosted-engine",
    "/hosts",
    `/hosts/${hosts[0].id}`,
    "/vms",
    `/vms/${vms[0].id}`,
    "/events",
    "/config",
    "/notifications",
  ];
  if (jobs.length > 0) list.push(`/jobs/${jobs[0].id}`);
  return list;
}

async function audit(page: Page, path: string): Promise<string[]> {
  await page.goto(path);
  await hydrated(page);
  await expect(page.locator(".loading")).toHaveCount(0);
  const result = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .analyze();
  const bad = result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${path}: ${v.id} (${v.impact}) ${v.help}: ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
  return bad;
}

test("the login page has no serious or critical violation", async ({ page }) => {
  await page.goto("/login");
  await hydrated(page);
  const result = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa"]).analyze();
  expect(result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")).toEqual([]);
});

test("every page, as an admin, light and dark", async ({ page }) => {
  test.setTimeout(180_000);
  await logIn(page);
  const bad: string[] = [];
  for (const path of await pages(page)) {
    bad.push(...(await audit(page, path)));
  }
  await page.emulateMedia({ colorScheme: "dark" });
  for (const path of ["/", "/hosts", "/clusters"]) {
    bad.push(...(await audit(page, path)).map((line) => `dark ${line}`));
  }
  expect(bad, bad.join("\n")).toEqual([]);
});

test("every page, as a viewer, and an open dialog", async ({ page }) => {
  test.setTimeout(180_000);
  try {
    uplift(["user", "add", "a11y-viewer", "--role", "viewer"], { UPLIFT_USER_PASSWORD: "a11y-viewer-password" });
  } catch {
    // Added by an earlier run against the same server.
  }
  await logIn(page, "a11y-viewer", "a11y-viewer-password");
  const bad: string[] = [];
  for (const path of await pages(page)) {
    bad.push(...(await audit(page, path)));
  }
  expect(bad, bad.join("\n")).toEqual([]);
  // A dialog over a page.
  await page.locator("details.usermenu summary").click();
  await page.getByRole("menuitem", { name: "About" }).click();
  await expect(page.getByRole("dialog", { name: "About Uplift" })).toBeVisible();
  const result = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa"]).analyze();
  expect(result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")).toEqual([]);
});
