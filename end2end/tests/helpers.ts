import { expect, Page } from "@playwright/test";
import { execFileSync } from "node:child_process";

export const ADMIN = { username: "admin", password: "e2e-admin-password" };

/** Waits until the WASM has hydrated the page, so clicks reach Leptos' handlers. */
export async function hydrated(page: Page) {
  await page.waitForSelector('body[data-hydrated="true"]');
}

export async function logIn(page: Page, username = ADMIN.username, password = ADMIN.password) {
  await page.goto("/login");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/$/);
  await hydrated(page);
}

/** Runs the `uplift` CLI against the server's database. */
export function uplift(args: string[], env: Record<string, string> = {}) {
  return execFileSync(process.env.UPLIFT_E2E_BIN!, args, {
    env: { ...process.env, UPLIFT_DATA_DIR: process.env.UPLIFT_E2E_DATA_DIR!, ...env },
  }).toString();
}
