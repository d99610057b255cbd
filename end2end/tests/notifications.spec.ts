import { expect, test } from "@playwright/test";
import { hydrated, logIn, uplift } from "./helpers";

test("a user subscribes a webhook on the Notifications page, sees its secret once, and deletes it", async ({ page }) => {
  uplift(["user", "add", "watcher", "--role", "viewer"], { UPLIFT_USER_PASSWORD: "watcher-password" });
  await logIn(page, "watcher", "watcher-password");
  await page.getByRole("link", { name: "Notifications" }).click();
  await expect(page.getByRole("heading", { name: "Notifications", exact: true })).toBeVisible();
  await hydrated(page);
  await expect(page.getByText("No subscriptions yet.")).toBeVisible();

  const form = page.getByRole("form", { name: "New subscription" });
  // A bad address is refused with the reason.
  await form.getByLabel("Method").selectOption("email");
  await form.getByLabel("Address").fill("nobody");
  await form.getByRole("button", { name: "Subscribe" }).click();
  await expect(page.getByText("An email subscription needs a valid \"address\".")).toBeVisible();

  await form.getByLabel("Event").selectOption("host_upgrade_failed");
  await form.getByLabel("Method").selectOption("webhook");
  // A webhook to an internal address is refused (SSRF), with the reason.
  await form.getByLabel("URL").fill("http://169.254.169.254/latest/meta-data/");
  await form.getByRole("button", { name: "Subscribe" }).click();
  await expect(page.getByText(/169\.254\.169\.254 is not a public address/)).toBeVisible();

  await form.getByLabel("URL").fill("https://hooks.example.com/uplift");
  await form.getByRole("button", { name: "Subscribe" }).click();
  const table = page.getByRole("table", { name: "Subscriptions" });
  await expect(table.getByRole("row").filter({ hasText: "host_upgrade_failed" })).toContainText("https://hooks.example.com/uplift");
  await expect(page.locator("code.secret")).toHaveText(/.{24,}/);

  await table.getByRole("button", { name: "Delete" }).click();
  await expect(page.getByText("No subscriptions yet.")).toBeVisible();
});
