import { expect, test } from "@playwright/test";

// Issue 17: the OpenAPI document renders as a page (Swagger UI, served by Uplift itself under
// its own Content-Security-Policy), and an operation opens with its responses.
test("the API docs page renders the OpenAPI document without a policy violation", async ({ page }) => {
  const problems: string[] = [];
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) =>
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI}`),
    );
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });

  const response = await page.goto("/api/docs/");
  expect(response!.headers()["content-security-policy"]).toContain("frame-ancestors 'none'");
  await expect(page.getByRole("heading", { name: /Uplift/ }).first()).toBeVisible();
  await expect(page.getByText("OAS 3.1")).toBeVisible();
  const operation = page.locator(".opblock").filter({ hasText: "/api/hosts/{id}/upgrade" }).first();
  await operation.locator(".opblock-summary").click();
  await expect(operation.getByText("Started: the job that does it")).toBeVisible();
  expect(problems, problems.join("\n")).toEqual([]);
});
