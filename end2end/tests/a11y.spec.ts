import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Page } from "@playwright/test";
import { grantSupport, mailsTo, pressMailLink, ready, signUp, submitPassword, uniqueEmail, verificationLink } from "./helpers";

const PASSWORD = "violet tractor mango 42";

// axe-core runs inside the page, so these run with JavaScript only (the
// "hydrated" project). The markup checked is the server-rendered markup the
// no-JavaScript project sees too; hydration adds behaviour, not elements.

/** WCAG 2.0, 2.1 and 2.2 at levels A and AA: what issue 13 asks for. */
const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"];

/** Runs axe-core on the page as it is now; `what` names the state in a failure. */
async function noViolations(page: Page, what: string) {
  const results = await new AxeBuilder({ page }).withTags(TAGS).analyze();
  const found = results.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`,
  );
  expect(found, `axe-core on ${what}`).toEqual([]);
}

async function visit(page: Page, js: boolean, url: string) {
  await page.goto(url);
  await ready(page, js);
}

test("every page and state the suite reaches has no WCAG 2.2 A/AA violation", async ({ page, browser }) => {
  const js = true;
  test.setTimeout(120_000);
  // Signed out.
  for (const url of ["/login", "/signup", "/forgot-password", "/contact", "/nowhere"]) {
    await visit(page, js, url);
    await noViolations(page, url);
  }
  // Errors shown: an empty sign-up form, a wrong password.
  await visit(page, js, "/signup");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.locator(".field-error").first()).not.toBeEmpty();
  await noViolations(page, "/signup with every field refused");
  await submitPassword(page, js, "nobody@example.org", "not the password");
  await expect(page.getByRole("alert")).toBeVisible();
  await noViolations(page, "/login after a wrong password");

  // The second step of sign-in, for someone who exists.
  const email = uniqueEmail("ada");
  await signUp(page, js, { first: "Ada", last: "Byron", email, password: PASSWORD, phone: "+1 415 555 0177" });
  await expect(page).toHaveURL(/\/profile$/);
  await ready(page, js);
  await noViolations(page, "the Dashboard");
  const verify = await verificationLink(email);
  await page.goto(verify);
  await ready(page, js);
  await noViolations(page, "the email confirmation page");
  await pressMailLink(page, js, verify, "Confirm email address");

  for (const tab of ["details", "security", "invitations"]) {
    await visit(page, js, `/profile/${tab}`);
    await noViolations(page, `/profile/${tab}`);
  }
  // A refused profile save shows its messages.
  await visit(page, js, "/profile/details");
  await page.getByLabel("First name").fill("");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.locator(".field-error").first()).not.toBeEmpty();
  await noViolations(page, "/profile/details with a refused save");

  // Security: an authenticator setup open, then a texted code awaited.
  await visit(page, js, "/profile/security");
  const card = page.getByRole("region", { name: "Sign-in protection" });
  await card.getByRole("button", { name: "Set up an authenticator app" }).click();
  await expect(card.getByRole("img", { name: "QR code for your authenticator app" })).toBeVisible();
  await noViolations(page, "the authenticator setup");
  await card.getByRole("button", { name: "Cancel setup" }).click();
  await card.getByRole("button", { name: "Use text messages" }).click();
  await expect(card.getByLabel("Code from the text message")).toBeVisible();
  await noViolations(page, "a texted code awaited");

  if (js) {
    // The avatar dialog exists only with JavaScript.
    await visit(page, js, "/profile/details");
    await page.getByRole("button", { name: "Edit avatar" }).click();
    await expect(page.getByRole("dialog", { name: "Profile picture" })).toBeVisible();
    await noViolations(page, "the avatar dialog");
    await page.keyboard.press("Escape");
  }

  // Accounts.
  await visit(page, js, "/accounts");
  await noViolations(page, "/accounts");
  await page.getByLabel("Name").fill("Byron Works");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/accounts\/\d+$/);
  await ready(page, js);
  await noViolations(page, "an account's page");

  // Support, in a browser of its own.
  await visit(page, js, "/support/contact");
  await noViolations(page, "/support/contact");
  const staff = await (await browser.newContext({ javaScriptEnabled: js })).newPage();
  const staffEmail = uniqueEmail("sam");
  await signUp(staff, js, { first: "Sam", last: "Helper", email: staffEmail, password: PASSWORD });
  await expect(staff).toHaveURL(/\/profile$/);
  grantSupport(staffEmail);
  await visit(staff, js, "/support");
  await noViolations(staff, "the support console");
  await staff.getByLabel("Email or name").fill(email);
  await staff.getByRole("button", { name: "Search" }).click();
  await expect(staff).toHaveURL(/\/support\?query=/);
  await ready(staff, js);
  await noViolations(staff, "the console's search results");
  await staff.getByRole("list", { name: "People found" }).getByRole("link", { name: "Ada Byron" }).click();
  await expect(staff).toHaveURL(/\/support\/users\/\d+$/);
  await ready(staff, js);
  await noViolations(staff, "a person's page in the console");

  // A change support makes waits for its owner: the page behind the mail's links.
  const change = staff.getByRole("region", { name: "Change email address" });
  await change.getByLabel("New email address").fill(uniqueEmail("ada.new"));
  await change.getByLabel("Ticket reference").fill("INC-1");
  await change.getByRole("button", { name: "Change email address" }).click();
  await expect(change.getByRole("status")).toContainText("On hold");
  await noViolations(staff, "a person's page with a change on hold");
  let link = "";
  await expect
    .poll(() => {
      link =
        mailsTo(email)
          .map((m) => /https?:\/\/\S+\/support-change\?token=[\w-]+/.exec(m.text)?.[0])
          .find((l) => !!l) ?? "";
      return link;
    })
    .not.toBe("");
  await visit(page, js, link);
  await expect(page.getByRole("button", { name: "Yes, I asked for this: go ahead now" })).toBeVisible();
  await noViolations(page, "the held change's page");
});

test("the accessibility check finds what it is there to find", async ({ page }) => {
  // A field without a label and an image without a text alternative: the
  // check above must fail on such a page, or it proves nothing.
  await page.setContent('<html lang="en"><title>t</title><main><input type="text"><img src="data:,"></main></html>');
  await expect(noViolations(page, "a page made to fail")).rejects.toThrow(/label|image-alt/);
});
