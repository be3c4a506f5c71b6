import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Page, type Route } from "@playwright/test";
import { grantSupport, mailsTo, pressMailLink, ready, signUp, submitPassword, uniqueEmail, verificationLink } from "./helpers";

const PASSWORD = "violet tractor mango 42";

// axe-core runs inside the page, so this file runs in the "hydrated"
// project only. The states a browser without JavaScript reaches (forms
// posted, refused and redirected back, pages as the server renders them)
// are walked in a context with JavaScript off, and each is checked as a
// copy: its markup, scripts removed, served at its own address to a page
// that has JavaScript for axe.

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

/** Checks the no-JavaScript `page` as it is now, through `checker`. */
async function noViolationsWithoutJs(page: Page, checker: Page, what: string) {
  const html = (await page.content()).replace(/<script\b[\s\S]*?<\/script>/gi, "");
  const url = page.url();
  const serve = (route: Route) => route.fulfill({ status: 200, contentType: "text/html; charset=utf-8", body: html });
  await checker.route(url, serve);
  await checker.goto(url);
  await checker.unroute(url, serve);
  await noViolations(checker, `${what}, without JavaScript`);
}

async function visit(page: Page, js: boolean, url: string) {
  await page.goto(url);
  await ready(page, js);
}

for (const js of [true, false]) {
  test(`every page and state the suite reaches has no WCAG 2.2 A/AA violation${js ? "" : ", without JavaScript"}`, async ({ page: checker, browser }) => {
    test.setTimeout(180_000);
    const page = js ? checker : await (await browser.newContext({ javaScriptEnabled: false })).newPage();
    const check = js ? noViolations : (p: Page, what: string) => noViolationsWithoutJs(p, checker, what);
    // Signed out.
    for (const url of ["/login", "/signup", "/forgot-password", "/contact", "/nowhere"]) {
      await visit(page, js, url);
      await check(page, url);
    }
    // Errors shown: an empty sign-up form, a wrong password.
    await visit(page, js, "/signup");
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.locator(".field-error").first()).not.toBeEmpty();
    await check(page, "/signup with every field refused");
    await submitPassword(page, js, "nobody@example.org", "not the password");
    await expect(page.getByRole("alert")).toBeVisible();
    await check(page, "/login after a wrong password");

    // The second step of sign-in, for someone who exists.
    const email = uniqueEmail("ada");
    await signUp(page, js, { first: "Ada", last: "Byron", email, password: PASSWORD, phone: "+1 415 555 0177" });
    await expect(page).toHaveURL(/\/profile$/);
    await ready(page, js);
    await check(page, "the Dashboard");
    const verify = await verificationLink(email);
    await page.goto(verify);
    await ready(page, js);
    await check(page, "the email confirmation page");
    await pressMailLink(page, js, verify, "Confirm email address");

    for (const tab of ["details", "security", "invitations"]) {
      await visit(page, js, `/profile/${tab}`);
      await check(page, `/profile/${tab}`);
    }
    // A refused profile save shows its messages.
    await visit(page, js, "/profile/details");
    await page.getByLabel("First name").fill("");
    await page.getByRole("button", { name: "Save changes" }).click();
    await expect(page.locator(".field-error").first()).not.toBeEmpty();
    await check(page, "/profile/details with a refused save");

    // Security: an authenticator setup open, then a texted code awaited.
    await visit(page, js, "/profile/security");
    const card = page.getByRole("region", { name: "Sign-in protection" });
    await card.getByRole("button", { name: "Set up an authenticator app" }).click();
    await expect(card.getByRole("img", { name: "QR code for your authenticator app" })).toBeVisible();
    await check(page, "the authenticator setup");
    await card.getByRole("button", { name: "Cancel setup" }).click();
    await card.getByRole("button", { name: "Use text messages" }).click();
    await expect(card.getByLabel("Code from the text message")).toBeVisible();
    await check(page, "a texted code awaited");

    if (js) {
      // The avatar dialog exists only with JavaScript.
      await visit(page, js, "/profile/details");
      await page.getByRole("button", { name: "Edit avatar" }).click();
      await expect(page.getByRole("dialog", { name: "Profile picture" })).toBeVisible();
      await check(page, "the avatar dialog");
      await page.keyboard.press("Escape");
    }

    // Accounts.
    await visit(page, js, "/accounts");
    await check(page, "/accounts");
    await page.getByLabel("Name").fill("Byron Works");
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page).toHaveURL(/\/accounts\/\d+$/);
    await ready(page, js);
    await check(page, "an account's page");

    // Support, in a browser of its own.
    await visit(page, js, "/support/contact");
    await check(page, "/support/contact");
    const staff = await (await browser.newContext({ javaScriptEnabled: js })).newPage();
    const staffEmail = uniqueEmail("sam");
    await signUp(staff, js, { first: "Sam", last: "Helper", email: staffEmail, password: PASSWORD });
    await expect(staff).toHaveURL(/\/profile$/);
    grantSupport(staffEmail);
    await visit(staff, js, "/support");
    await check(staff, "the support console");
    await staff.getByLabel("Email or name").fill(email);
    await staff.getByRole("button", { name: "Search" }).click();
    await expect(staff).toHaveURL(/\/support\?query=/);
    await ready(staff, js);
    await check(staff, "the console's search results");
    await staff.getByRole("list", { name: "People found" }).getByRole("link", { name: "Ada Byron" }).click();
    await expect(staff).toHaveURL(/\/support\/users\/\d+$/);
    await ready(staff, js);
    await check(staff, "a person's page in the console");

    // A change support makes waits for its owner: the page behind the mail's links.
    const change = staff.getByRole("region", { name: "Change email address" });
    await change.getByLabel("New email address").fill(uniqueEmail("ada.new"));
    await change.getByLabel("Ticket reference").fill("INC-1");
    await change.getByRole("button", { name: "Change email address" }).click();
    // With JavaScript the form's status says so; without, the page comes
    // back with the change on hold in the person's profile.
    const held = js ? change.getByRole("status") : staff.getByRole("region", { name: "Profile", exact: true });
    await expect(held).toContainText("On hold");
    await check(staff, "a person's page with a change on hold");
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
    await check(page, "the held change's page");
  });
}

test("the accessibility check finds what it is there to find", async ({ page }) => {
  // A field without a label and an image without a text alternative: the
  // check above must fail on such a page, or it proves nothing.
  await page.setContent('<html lang="en"><title>t</title><main><input type="text"><img src="data:,"></main></html>');
  await expect(noViolations(page, "a page made to fail")).rejects.toThrow(/label|image-alt/);
});

test("the check of a page without JavaScript finds what it is there to find", async ({ page, browser }) => {
  // The same page made to fail, in a browser without JavaScript: the copy
  // the checker is served must carry the faults.
  const nojs = await (await browser.newContext({ javaScriptEnabled: false })).newPage();
  await nojs.goto("/nowhere");
  await nojs.setContent('<html lang="en"><title>t</title><main><input type="text"><img src="data:,"></main></html>');
  await expect(noViolationsWithoutJs(nojs, page, "a page made to fail")).rejects.toThrow(/label|image-alt/);
});
