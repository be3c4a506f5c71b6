import { expect, test } from "@playwright/test";
import { mailsTo, ready, signIn, signInCode, signOut, signUp, submitPassword, uniqueEmail, pressMailLink, verificationLink } from "./helpers";

const PASSWORD = "violet tractor mango 42";

test("sign up, confirm the email from the outbox, sign out, sign in, switch tabs", async ({ page, javaScriptEnabled: js }) => {
  const email = uniqueEmail();
  await signUp(page, js, { first: "Ann", last: "Lee", email, password: PASSWORD });

  // Signed in at once, with a non-blocking banner asking to confirm the email.
  await expect(page).toHaveURL(/\/profile$/);
  const banner = page.getByRole("region", { name: "Email confirmation" });
  await expect(banner).toContainText(email);

  const link = await verificationLink(email);
  // Opening the link (a mail scanner does) only asks.
  await page.goto(link);
  await ready(page, js);
  await expect(page.getByText(`Confirm that ${email} is your email address.`)).toBeVisible();
  await page.goto("/profile");
  await ready(page, js);
  await expect(page.getByRole("region", { name: "Email confirmation" })).toContainText(email);
  await pressMailLink(page, js, link, "Confirm email address");
  await expect(page.getByRole("status")).toContainText(`${email} is confirmed`);
  if (js) {
    // The token is removed from the address bar once read.
    await expect(page).toHaveURL(/\/verify-email$/);
  }

  // A used link says so.
  await page.goto(link);
  await expect(page.getByRole("alert")).toContainText("already been used");

  await page.goto("/profile");
  await ready(page, js);
  await expect(page.getByRole("region", { name: "Email confirmation" })).toHaveCount(0);
  await signOut(page, js);

  // Signed out: My Profile sends to sign-in.
  await page.goto("/profile");
  await expect(page).toHaveURL(/\/login$/);

  await signIn(page, js, email.toUpperCase(), PASSWORD);
  await expect(page).toHaveURL(/\/profile$/);

  const topBar = page.getByRole("banner");
  await expect(topBar.getByText("Ann Lee")).toBeVisible();
  await expect(topBar.getByText("AL", { exact: true })).toBeVisible();

  // Three tabs, each its own URL; the current one is marked.
  const tabs = page.getByRole("tablist", { name: "Profile sections" });
  const dashboard = tabs.getByRole("tab", { name: "Dashboard" });
  const profile = tabs.getByRole("tab", { name: "Profile" });
  const security = tabs.getByRole("tab", { name: "Security" });
  await expect(dashboard).toHaveAttribute("aria-selected", "true");
  await expect(page.getByRole("tabpanel")).toContainText("Member since");

  await profile.click();
  await expect(page).toHaveURL(/\/profile\/details$/);
  await ready(page, js);
  await expect(profile).toHaveAttribute("aria-selected", "true");
  await expect(profile).toHaveAttribute("aria-current", "page");
  await expect(dashboard).toHaveAttribute("aria-selected", "false");
  const panel = page.getByRole("tabpanel");
  await expect(panel.getByLabel("First name")).toHaveValue("Ann");
  await expect(panel.getByLabel("Last name")).toHaveValue("Lee");
  await expect(panel).toContainText(email);

  // Keyboard: focus the Security tab and press Enter.
  await security.focus();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/profile\/security$/);
  await ready(page, js);
  await expect(security).toHaveAttribute("aria-selected", "true");
  await expect(page.getByRole("tabpanel")).toContainText("Password last changed");

  if (js) {
    // Arrow keys move between tabs as in the WAI-ARIA tabs pattern.
    await security.focus();
    await page.keyboard.press("ArrowLeft");
    await expect(page).toHaveURL(/\/profile\/details$/);
    await expect(profile).toBeFocused();
    await page.keyboard.press("Home");
    await expect(page).toHaveURL(/\/profile$/);
  }

  await signOut(page, js);
  // The confirmation link and one sign-in code.
  expect(mailsTo(email)).toHaveLength(2);
});

test("sign-in asks for the emailed code; a wrong code says so", async ({ page, javaScriptEnabled: js }) => {
  const email = uniqueEmail("dan");
  await signUp(page, js, { first: "Dan", last: "Cho", email, password: PASSWORD });
  await expect(page).toHaveURL(/\/profile$/);
  await signOut(page, js);

  await submitPassword(page, js, email, PASSWORD);
  await expect(page).toHaveURL(/\/login\/verify$/);
  await ready(page, js);
  await expect(page.getByRole("main")).toContainText(/We sent a 6-digit code to d•••@example\.org/);
  // Not signed in yet.
  await page.goto("/profile");
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/login/verify");
  await ready(page, js);

  const code = await signInCode(email);
  const wrong = code === "000000" ? "000001" : "000000";
  await page.getByLabel("Sign-in code").fill(wrong);
  await page.getByRole("button", { name: "Verify and sign in" }).click();
  await expect(page.getByLabel("Sign-in code")).toHaveAccessibleDescription("That code is not right. 4 tries left.");
  await page.getByLabel("Sign-in code").fill(code);
  await page.getByRole("button", { name: "Verify and sign in" }).click();
  await expect(page).toHaveURL(/\/profile$/);
  await expect(page.getByRole("banner").getByText("Dan Cho")).toBeVisible();
});

test("wrong password and unknown email get the same answer", async ({ page, javaScriptEnabled: js }) => {
  const email = uniqueEmail("bob");
  await signUp(page, js, { first: "Bob", last: "Ng", email, password: PASSWORD });
  await expect(page).toHaveURL(/\/profile$/);
  await signOut(page, js);

  await submitPassword(page, js, email, "not the password");
  await expect(page.getByRole("alert")).toHaveText("The email or password is incorrect.");
  await expect(page).toHaveURL(/\/login/);

  await submitPassword(page, js, uniqueEmail("nobody"), "not the password");
  await expect(page.getByRole("alert")).toHaveText("The email or password is incorrect.");
});

test("sign-up shows each problem under its field and keeps nothing", async ({ page, javaScriptEnabled: js }) => {
  const email = uniqueEmail("cy");
  await signUp(page, js, { first: "  ", last: "Lee", email: "not-an-email", password: "password" });
  await expect(page).toHaveURL(/\/signup/);
  const first = page.getByLabel("First name");
  await expect(first).toHaveAttribute("aria-invalid", "true");
  await expect(page.locator("#field-first_name-error")).toHaveText("Enter your first name.");
  await expect(page.getByLabel("Email")).toHaveAccessibleDescription(/Enter an email address like name@example.com/);
  await expect(page.locator("#field-password-error")).toContainText("breached");
  expect(mailsTo("not-an-email")).toHaveLength(0);

  // The same address in another letter case is a duplicate.
  await signUp(page, js, { first: "Cy", last: "Lee", email, password: PASSWORD });
  await expect(page).toHaveURL(/\/profile$/);
  await signOut(page, js);
  await signUp(page, js, { first: "Cy", last: "Lee", email: email.toUpperCase(), password: PASSWORD });
  await expect(page.locator("#field-email-error")).toContainText("already exists");
});
