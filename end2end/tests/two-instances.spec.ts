import { expect, Page, test } from "@playwright/test";
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ADMIN, hydrated } from "./helpers";

// Issue 22: two Uplift instances, "a" and "b", on one PostgreSQL database (a database of its
// own, dropped afterwards). A rolling upgrade started through instance a is watched live in a
// browser on instance b, whose About dialog lists both instances.
const postgres = process.env.UPLIFT_TEST_POSTGRES ?? "postgres://root@127.0.0.1:5432";
const database = `uplift_t_e2e_${process.pid}`;
const url = `${postgres}/${database}`;
const fleet = path.join(process.env.UPLIFT_E2E_DATA_DIR!, "demo-fast.toml");
const ports = { a: 3181, b: 3182 };
const servers: ChildProcess[] = [];

function psql(statement: string) {
  execFileSync("psql", ["-X", "-q", "-d", `${postgres}/postgres`, "-c", statement]);
}

function env(name: string): NodeJS.ProcessEnv {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `uplift-e2e-${name}-`));
  return {
    ...process.env,
    UPLIFT_DB: url,
    UPLIFT_DATA_DIR: dataDir,
    UPLIFT_ADMIN_PASSWORD: ADMIN.password,
    UPLIFT_INSTANCE_NAME: name,
  };
}

async function start(name: "a" | "b") {
  const server = spawn(
    process.env.UPLIFT_E2E_BIN!,
    ["serve", "--addr", `127.0.0.1:${ports[name]}`, "--fleet", fleet],
    { env: env(name), stdio: "ignore" },
  );
  servers.push(server);
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${ports[name]}/api`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`instance ${name} did not start`);
}

const auth = { Authorization: "Basic " + Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString("base64") };

async function api(name: "a" | "b", method: string, route: string, body?: unknown) {
  const response = await fetch(`http://127.0.0.1:${ports[name]}${route}`, {
    method,
    headers: { ...auth, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.ok, `${method} ${route}: ${response.status}`).toBe(true);
  return response.json();
}

async function logInAt(page: Page, base: string) {
  await page.goto(`${base}/login`);
  await page.getByLabel("Username").fill(ADMIN.username);
  await page.getByLabel("Password").fill(ADMIN.password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/$/);
  await hydrated(page);
}

test.beforeAll(async () => {
  psql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  psql(`CREATE DATABASE ${database}`);
  // No engine update dialog in the way, and no periodic checks: only the run below works.
  for (const setting of ["EngineUpdateCheckIntervalInDays=0", "HostPackagesUpdateTimeInHours=0"]) {
    execFileSync(process.env.UPLIFT_E2E_BIN!, ["config", "set", setting], { env: env("setup") });
  }
  await start("a");
  await start("b");
});

test.afterAll(() => {
  for (const server of servers) server.kill("SIGKILL");
  psql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
});

test("a browser on instance b follows live a rolling upgrade driven by instance a", async ({ page }) => {
  test.setTimeout(240_000);
  const b = `http://127.0.0.1:${ports.b}`;
  await logInAt(page, b);
  await page.goto(`${b}/clusters`);
  await hydrated(page);
  await page.evaluate(() => ((window as any).__sameDocument = true));
  const row = page.getByRole("row").filter({ hasText: "production" });
  await expect(row).toBeVisible();
  await expect(row.getByRole("progressbar")).toHaveCount(0);

  // The run, through instance a's REST API: check the cluster, then upgrade three hosts.
  const clusters = await api("a", "GET", "/api/clusters");
  const production = clusters.find((c: { name: string }) => c.name === "production");
  const check = await api("a", "POST", `/api/clusters/${production.id}/upgradecheck`, {});
  for (let i = 0; i < 600; i++) {
    const job = await api("a", "GET", `/api/jobs/${check.job.id}`);
    if (job.ended_at) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const hosts = await api("a", "GET", "/api/hosts");
  const chosen = hosts
    .filter((h: { name: string }) => ["host-02", "host-05", "host-11"].includes(h.name))
    .map((h: { id: string }) => h.id);
  const started = await api("a", "POST", `/api/clusters/${production.id}/upgrade`, {
    hosts: chosen,
    stop_pinned_vms: true,
  });
  const instances = await api("b", "GET", "/api/instances");
  const a = instances.find((i: { name: string }) => i.name === "a");
  expect(a.work.jobs).toContain(started.job.id);

  // Instance b's page, never reloaded, shows the run as a drives it, and its end.
  await expect(row.getByRole("progressbar", { name: "Upgrade progress" })).toBeVisible({ timeout: 30_000 });
  await expect(row.getByRole("progressbar")).toHaveCount(0, { timeout: 200_000 });
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
  await page.goto(`${b}/events`);
  await expect(page.getByText("Upgrade of cluster production finished.")).toBeVisible();

  // b's About dialog lists both instances, b marked as the one answering.
  await page.locator("details.usermenu summary").click();
  await page.getByRole("menuitem", { name: "About" }).click();
  const about = page.getByRole("dialog", { name: "About Uplift" });
  const table = about.getByRole("table", { name: "Instances" });
  await expect(table.locator('tr[data-instance="a"]')).toContainText("s ago");
  await expect(table.locator('tr[data-instance="b"]')).toContainText("b (this one)");
});
