import { expect, test } from "@playwright/test";
import * as OTPAuth from "otpauth";
import { mailsTo, ready, signOut, signUp, submitPassword, uniqueEmail } from "./helpers";

const PASSWORD = "violet tractor mango 42";

test("enrol an authenticator app by its setup key, sign in with its codes and a recovery code", async ({ page, javaScriptEnabled: js }) => {
  const email = uniqueEmail("tom");
  await signUp(page, js, { first: "Tom", last: "Berg", email, password: PASSWORD });
  await expect(page).toHaveURL(/\/profile$/);
  await page.goto("/profile/security");
  await ready(page, js);

  const card = page.getByRole("region", { name: "Sign-in protection" });
  await expect(card).toContainText("Current method: Email");
  await expect(card.getByRole("button", { name: "Use text messages" })).toBeDisabled();
  await card.getByRole("button", { name: "Set up an authenticator app" }).click();
  await expect(card.getByRole("img", { name: "QR code for your authenticator app" })).toBeVisible();
  const key = (await card.locator("#setup-key").textContent())!.trim();
  expect(key).toMatch(/^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$/);

  // The pending setup survives a reload with the same key; email stays in use until a code is entered.
  await page.reload();
  await ready(page, js);
  await expect(card.locator("#setup-key")).toHaveText(key);
  await expect(card).toContainText("Current method: Email");

  const totp = new OTPAuth.TOTP({
    secret: OTPAuth.Secret.fromBase32(key.replace(/ /g, "")),
    algorithm: "SHA1",
    digits: 6,
    period: 30,
  });
  await card.getByLabel("Code from your app").fill(totp.generate());
  await card.getByRole("button", { name: "Turn on" }).click();
  const codes = card.getByRole("list", { name: "Recovery codes" }).getByRole("listitem");
  await expect(codes).toHaveCount(10);
  const recovery = (await codes.nth(0).textContent())!.trim();
  await expect(card).toContainText("Current method: Authenticator app");
  await expect.poll(() => mailsTo(email).filter((m) => m.subject.includes("sign-in method was changed")).length).toBe(1);

  // Sign in with the app: the enrolment used this step's code, so use the next step's (one step of skew is allowed).
  await signOut(page, js);
  const before = mailsTo(email).length;
  await submitPassword(page, js, email, PASSWORD);
  await expect(page).toHaveURL(/\/login\/verify$/);
  await ready(page, js);
  await expect(page.getByRole("main")).toContainText("Open your authenticator app");
  const code = totp.generate({ timestamp: Date.now() + 30_000 });
  await page.getByLabel("Code from your app").fill(code);
  await page.getByRole("button", { name: "Verify and sign in" }).click();
  await expect(page).toHaveURL(/\/profile$/);
  expect(mailsTo(email).length).toBe(before); // no code was mailed

  // The same code again is refused.
  await signOut(page, js);
  await submitPassword(page, js, email, PASSWORD);
  await ready(page, js);
  await page.getByLabel("Code from your app").fill(code);
  await page.getByRole("button", { name: "Verify and sign in" }).click();
  await expect(page.getByLabel("Code from your app")).toHaveAccessibleDescription(/already used/);

  // A recovery code signs in once.
  await page.getByText("Use a recovery code instead").click();
  await page.getByLabel("Recovery code").fill(recovery);
  await page.getByRole("button", { name: "Sign in with a recovery code" }).click();
  await expect(page).toHaveURL(/\/profile$/);
  await page.goto("/profile/security");
  await expect(page.getByRole("region", { name: "Sign-in protection" })).toContainText("9 of 10 recovery codes left");
});
