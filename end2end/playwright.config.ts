import { defineConfig } from "@playwright/test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

// The server under test: the real `uplift` binary on the demo fleet, with a fresh data dir so
// every run starts from the same world. .ci/test sets UPLIFT_BIN and LEPTOS_SITE_ROOT.
const port = Number(process.env.UPLIFT_E2E_PORT ?? 3100);
const repo = path.resolve(__dirname, "..");
const bin = process.env.UPLIFT_BIN ?? path.join(repo, "target/debug/uplift");
// Playwright evaluates this file again in each worker, which inherits the environment: the
// first evaluation makes the data dir, the workers find it, and tests reach the server's
// database with the CLI (for example to add a viewer).
const dataDir = process.env.UPLIFT_E2E_DATA_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), "uplift-e2e-"));
process.env.UPLIFT_E2E_DATA_DIR = dataDir;
process.env.UPLIFT_E2E_BIN = bin;
const adminPassword = "e2e-admin-password";
// The demo fleet at 40 times real speed, so upgrades finish within a test.
const fleet = path.join(dataDir, "demo-fast.toml");
if (!fs.existsSync(fleet)) {
  const demo = fs.readFileSync(path.join(repo, "server/fleets/demo.toml"), "utf8");
  fs.writeFileSync(fleet, demo.replace(/^speed = 1\.0$/m, "speed = 40.0"));
}

// UPLIFT_E2E_BASE_URL: test a server that is already running (`.ci/test` points it at
// `.ci/demo`, the release build users run); Playwright then starts none of its own.
const external = process.env.UPLIFT_E2E_BASE_URL;

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL: external ?? `http://127.0.0.1:${port}`,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  webServer: external ? undefined : {
    // The engine update check is off at start so that no test but engine.spec.ts meets its
    // dialog; that test checks from the About dialog.
    command:
      `UPLIFT_DATA_DIR="${dataDir}" "${bin}" config set EngineUpdateCheckIntervalInDays=0 && ` +
      `"${bin}" serve --addr 127.0.0.1:${port} --data-dir "${dataDir}" --fleet "${fleet}"`,
    url: `http://127.0.0.1:${port}/api`,
    reuseExistingServer: false,
    timeout: 60_000,
    env: {
      UPLIFT_ADMIN_PASSWORD: adminPassword,
      LEPTOS_SITE_ROOT: process.env.LEPTOS_SITE_ROOT ?? path.join(repo, "target/site"),
    },
    stdout: "ignore",
    stderr: "pipe",
  },
});
