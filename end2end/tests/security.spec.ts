import { expect, test } from "@playwright/test";
import { mailsTo, ready, resetLink, signIn, signOut, signUp, submitPassword, textedCode, uniqueEmail } from "./helpers";

const PASSWORD = "violet tractor mango 42";
const NEW_PASSWORD = "quiet harbour lantern 7";

test("reset the password from the Security tab", async ({ page, javaScriptEnabled: js }) => {
  const email = uniqueEmail("rita");
  await signUp(page, js, { first: "Rita", last: "Moss", email, password: PASSWORD });
  await expect(page).toHaveURL(/\/profile$/);

  await page.getByRole("tab", { name: "Security" }).click();
  await expect(page).toHaveURL(/\/profile\/security$/);
  await ready(page, js);
  await expect(page.getByRole("tabpanel")).toContainText(email);
  await expect(page.getByRole("tabpanel")).toContainText("shared by every platform that uses this email");
  await expect(page.getByRole("tabpanel")).toContainText("Current method: Email: a 6-digit code mailed to you");
  await page.getByRole("button", { name: "Send reset password link" }).click();
  await expect(page.getByRole("status")).toContainText(/We sent a reset link to your email\. It expires at \d\d:\d\d UTC/);

  const link = await resetLink(email);
  await page.goto(link);
  await ready(page, js);
  if (js) {
    // The token leaves the address bar once the page has read it.
    await expect(page).toHaveURL(/\/reset-password$/);
  }
  // The rules of sign-up apply.
  await page.getByLabel("New password").fill("password");
  await page.getByRole("button", { name: "Set new password" }).click();
  await expect(page.locator("#field-password-error")).toContainText("breached");
  await page.getByLabel("New password").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Set new password" }).click();

  // This browser stays signed in; the change is confirmed and mailed.
  await expect(page).toHaveURL(/\/profile\/security\?password=changed$/);
  await expect(page.getByRole("status")).toContainText("Your password was changed");
  await expect.poll(() => mailsTo(email).filter((m) => m.subject.includes("your password was changed")).length).toBe(1);

  // The link works once.
  await page.goto(link);
  await expect(page.getByRole("alert")).toContainText("already been used");

  await page.goto("/profile");
  await ready(page, js);
  await expect(page.getByRole("region", { name: "Recent activity" })).toContainText("Password changed");
  await signOut(page, js);
  await submitPassword(page, js, email, PASSWORD);
  await expect(page.getByRole("alert")).toHaveText("The email or password is incorrect.");
  await signIn(page, js, email, NEW_PASSWORD);
});

test("forgot password from the sign-in page", async ({ page, javaScriptEnabled: js }) => {
  const email = uniqueEmail("fay");
  await signUp(page, js, { first: "Fay", last: "Ong", email, password: PASSWORD });
  await expect(page).toHaveURL(/\/profile$/);
  await signOut(page, js);

  await page.getByRole("link", { name: "Forgot password?" }).click();
  await expect(page).toHaveURL(/\/forgot-password$/);
  await ready(page, js);
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Send reset link" }).click();
  const status = page.getByRole("status");
  await expect(status).toContainText("If an account exists for that address");
  await expect(status).toContainText(/expires in 30 minutes \(at \d\d:\d\d UTC\)/);

  // An unknown address gets the same words.
  await page.getByLabel("Email").fill(uniqueEmail("nobody"));
  await page.getByRole("button", { name: "Send reset link" }).click();
  await expect(page.getByRole("status")).toContainText("If an account exists for that address");

  await page.goto(await resetLink(email));
  await ready(page, js);
  await page.getByLabel("New password").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Set new password" }).click();
  await expect(page).toHaveURL(/\/login\?password=changed$/);
  await expect(page.getByRole("status")).toContainText("Sign in with your new password");
  await signIn(page, js, email, NEW_PASSWORD);
  await expect(page).toHaveURL(/\/profile$/);
});

test("text messages are offered only where available", async ({ page, javaScriptEnabled: js }) => {
  await signUp(page, js, { first: "Dora", last: "Kern", email: uniqueEmail("dora"), password: PASSWORD, phone: "+49 30 901820" });
  await expect(page).toHaveURL(/\/profile$/);
  await page.getByRole("tab", { name: "Security" }).click();
  await ready(page, js);
  const sms = page.getByRole("button", { name: "Use text messages" });
  await expect(sms).toBeDisabled();
  await expect(sms).toHaveAccessibleDescription("Not available in your area (DE).");
});

test("text messages go on only once the code texted to the number is typed back", async ({ page, javaScriptEnabled: js }) => {
  const last = String(Math.floor(Math.random() * 100)).padStart(2, "0");
  const e164 = `+1415555${js ? "01" : "02"}${last}`;
  await signUp(page, js, { first: "Sam", last: "Ray", email: uniqueEmail("sam"), password: PASSWORD, phone: e164 });
  await expect(page).toHaveURL(/\/profile$/);
  await page.goto("/profile/security");
  await ready(page, js);
  const card = page.getByRole("region", { name: "Sign-in protection" });
  await card.getByRole("button", { name: "Use text messages" }).click();
  await expect(card.getByText(`We texted a code to •••• ${e164.slice(-4)}`)).toBeVisible();
  await expect(card).toContainText("Current method: Email");
  const code = await textedCode(e164);

  const field = card.getByLabel("Code from the text message");
  await field.fill(code === "000000" ? "000001" : "000000");
  await card.getByRole("button", { name: "Turn on" }).click();
  await expect(card.getByText("That code is not right.")).toBeVisible();
  await expect(card).toContainText("Current method: Email");

  await field.fill(code);
  await card.getByRole("button", { name: "Turn on" }).click();
  await expect(card).toContainText("Current method: Text message (SMS)");
  await expect(field).toHaveCount(0);
});
