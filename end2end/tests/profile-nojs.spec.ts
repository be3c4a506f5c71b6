import { expect, test } from "@playwright/test";
import { ready, signUp, uniqueEmail } from "./helpers";

// The Profile form is a plain form underneath: it saves without JavaScript.
test.use({ javaScriptEnabled: false });

test("the profile form saves without JavaScript", async ({ page }) => {
  await signUp(page, false, { first: "Noa", last: "Js", email: uniqueEmail("noa"), password: "violet tractor mango 42" });
  await expect(page).toHaveURL(/\/profile$/);
  await page.goto("/profile/details");
  await ready(page, false);
  await page.getByLabel("First name").fill("Noah");
  await page.getByLabel("Country").selectOption("US");
  await page.getByLabel("Phone", { exact: true }).fill("(415) 555-2671");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page).toHaveURL(/\/profile\/details/);
  await expect(page.locator(".topbar .user-name")).toHaveText("Noah Js");
  await expect(page.getByLabel("Phone", { exact: true })).toHaveValue("+1 415-555-2671");
});
