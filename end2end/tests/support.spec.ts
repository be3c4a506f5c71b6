import { expect, test, type Browser, type Page } from "@playwright/test";
import * as OTPAuth from "otpauth";
import { grantSupport, mailsTo, ready, signIn, signInCode, signOut, signUp, submitPassword, uniqueEmail } from "./helpers";

const PASSWORD = "violet tractor mango 42";

/** Signs up a new person in `page` (which is then signed in); returns their email. */
async function newPerson(page: Page, first: string, last: string, js = true): Promise<string> {
  const email = uniqueEmail(first.toLowerCase());
  await signUp(page, js, { first, last, email, password: PASSWORD });
  await expect(page).toHaveURL(/\/profile$/);
  return email;
}

/** A support staff member, signed in in a browser context of their own. */
async function newSupportStaff(browser: Browser, js = true): Promise<Page> {
  const staff = await (await browser.newContext({ javaScriptEnabled: js })).newPage();
  const email = await newPerson(staff, "Sam", "Helper", js);
  grantSupport(email);
  return staff;
}

/** Finds a person in the console by email and opens their page. */
async function openPerson(staff: Page, email: string, name: string, js = true) {
  await staff.goto("/support");
  await ready(staff, js);
  await staff.getByLabel("Email or name").fill(email);
  await staff.getByRole("button", { name: "Search" }).click();
  await expect(staff).toHaveURL(/\/support\?query=/);
  const hits = staff.getByRole("list", { name: "People found" }).getByRole("listitem");
  await expect(hits).toHaveCount(1);
  await hits.getByRole("link", { name }).click();
  await expect(staff).toHaveURL(/\/support\/users\/\d+$/);
  await expect(staff.getByRole("heading", { level: 1, name })).toBeVisible();
}

/** Enrols an authenticator app for the signed-in person, as the Security tab offers it. */
async function enrolAuthenticator(page: Page) {
  await page.goto("/profile/security");
  await ready(page, true);
  const card = page.getByRole("region", { name: "Sign-in protection" });
  await card.getByRole("button", { name: "Set up an authenticator app" }).click();
  await expect(card.locator("#setup-key")).toBeVisible();
  const key = (await card.locator("#setup-key").textContent())!.trim();
  const totp = new OTPAuth.TOTP({
    secret: OTPAuth.Secret.fromBase32(key.replace(/ /g, "")),
    algorithm: "SHA1",
    digits: 6,
    period: 30,
  });
  await card.getByLabel("Code from your app").fill(totp.generate());
  await card.getByRole("button", { name: "Turn on" }).click();
  await expect(card).toContainText("Current method: Authenticator app");
}

/**
 * Approves a held support change as its owner: the "go ahead now" link
 * mailed to `to`, opened, and its button pressed.
 */
async function approveHeldChange(page: import("@playwright/test").Page, to: string) {
  let link = "";
  await expect
    .poll(() => {
      link =
        mailsTo(to)
          .filter((m) => m.subject.includes("Global Technical Support is changing how you sign in"))
          .map((m) => /https?:\/\/\S+\/support-change\?token=[\w-]+/.exec(m.text)?.[0])
          .find((l) => !!l) ?? "";
      return link;
    })
    .not.toBe("");
  await page.goto(link);
  await ready(page, true);
  await page.getByRole("button", { name: "Yes, I asked for this: go ahead now" }).click();
  await expect(page.getByRole("status")).toContainText("has gone ahead");
}

/** The link to confirm an email change mailed to `to`. */
async function emailChangeLink(to: string): Promise<string> {
  let link = "";
  await expect
    .poll(() => {
      link =
        mailsTo(to)
          .map((m) => /https?:\/\/\S+\/confirm-email-change\?token=[\w-]+/.exec(m.text)?.[0])
          .find((l) => !!l) ?? "";
      return link;
    })
    .not.toBe("");
  return link;
}

test("a person is refused the console, asks for a new email address, and support changes it under a ticket", async ({
  page,
  browser,
}) => {
  const email = await newPerson(page, "Ann", "Lind");
  const newEmail = uniqueEmail("ann.new");

  // The console is for support staff; the server refuses a person's page too.
  await page.goto("/support");
  await ready(page, true);
  await expect(page.getByRole("heading", { name: "This console is for Global Technical Support staff" })).toBeVisible();
  await expect(page.getByLabel("Email or name")).toHaveCount(0);
  await page.goto("/support/users/1");
  await ready(page, true);
  await expect(page.getByRole("heading", { name: "This console is for Global Technical Support staff" })).toBeVisible();
  await expect(page.getByRole("region", { name: "Profile", exact: true })).toHaveCount(0);

  // The contact form: what support can do, where roles are changed, and the request.
  await page.getByRole("link", { name: "Contact Global Technical Support" }).click();
  await expect(page).toHaveURL(/\/support\/contact$/);
  await expect(page.getByRole("heading", { level: 1, name: "Contact Global Technical Support" })).toBeVisible();
  await expect(page.locator("#roles")).toContainText("Support does not change roles");
  await page.getByRole("button", { name: "Send", exact: true }).click();
  await expect(page.getByLabel("Topic")).toHaveAccessibleDescription("Choose what your request is about.");
  await expect(page.getByLabel("Message")).toHaveAccessibleDescription(/Describe what you need\.$/);
  await expect(page.getByLabel("Message")).toHaveAttribute("maxlength", "4000");

  const message = `Please change my sign-in address to ${newEmail}.`;
  await page.getByLabel("Topic").selectOption({ label: "Change my email address" });
  await page.getByLabel("Message").fill(message);
  await expect(page.getByText(`${message.length} of 4000 characters`)).toBeVisible();
  await page.getByRole("button", { name: "Send", exact: true }).click();
  const sent = page.getByRole("status").filter({ hasText: /Request #\d+ sent\. We'll answer by email\./ });
  await expect(sent).toBeVisible();
  const number = /#(\d+)/.exec((await sent.textContent()) ?? "")![1];
  await expect(page.getByLabel("Message")).toHaveValue("");
  await expect
    .poll(() => mailsTo(email).filter((m) => m.subject.includes(`support request #${number}`)).length)
    .toBe(1);

  // Support sees the request and opens the person from it.
  const staff = await newSupportStaff(browser);
  await staff.goto("/support");
  await ready(staff, true);
  const request = staff.getByRole("row").filter({ hasText: email });
  await expect(request).toContainText(`#${number}`);
  await expect(request).toContainText("Change my email address");
  await expect(request).toContainText(message);

  // Search finds the person by email.
  await openPerson(staff, email, "Ann Lind");
  const profile = staff.getByRole("region", { name: "Profile", exact: true });
  await expect(profile).toContainText(email);
  await expect(profile).toContainText("Member since");
  const change = staff.getByRole("region", { name: "Change email address" });

  // The ticket reference is required; what was typed stays.
  await change.getByLabel("New email address").fill(newEmail);
  await change.getByRole("button", { name: "Change email address" }).click();
  await expect(change.getByLabel("Ticket reference")).toHaveAccessibleDescription(/Enter the ticket reference/);
  await expect(change.getByLabel("New email address")).toHaveValue(newEmail);

  await change.getByLabel("Ticket reference").fill("INC-4711");
  await change.getByRole("button", { name: "Change email address" }).click();
  await expect(change.getByRole("status")).toHaveText(
    `On hold: the change to ${newEmail} waits for the person's approval, or 24 hours. Then the verification link goes to the new address.`
  );
  // The page was fetched again: the held change and the audit line show.
  await expect(profile).toContainText("On hold");
  await expect(profile).toContainText(newEmail);
  await expect(staff.getByRole("region", { name: "Activity" })).toContainText("ticket INC-4711");
  // Ann approves it from her current address; then the link goes out.
  await approveHeldChange(page, email);
  await expect
    .poll(() => mailsTo(email).filter((m) => m.subject.includes("your email address is being changed")).length)
    .toBe(1);

  // Support closes the request.
  await staff.goto("/support");
  await ready(staff, true);
  await request.getByRole("button", { name: `Close request #${number}` }).click();
  await expect(request).toHaveCount(0);

  // The link went to the new address; opening it applies the change, once.
  const link = await emailChangeLink(newEmail);
  await page.goto(link);
  await ready(page, true);
  // Opening the link changes nothing yet: it names the address and asks.
  await expect(page.getByRole("main")).toContainText(`Make ${newEmail} the address you sign in with.`);
  await page.getByRole("button", { name: "Confirm new email address" }).click();
  await expect(page.getByRole("status")).toHaveText(
    `Your email address is now ${newEmail}. Sign in with it from now on.`
  );
  await expect(page).toHaveURL(/\/confirm-email-change$/);
  await page.goto(link);
  await expect(page.getByRole("alert")).toHaveText("This link has already been used. Each link works once.");

  // The change ended the person's sessions: this browser is signed out too.
  await page.goto("/profile");
  await expect(page).toHaveURL(/\/login/);
  // The old address no longer signs in; the new one does, with a code mailed to it.
  await submitPassword(page, true, email, PASSWORD);
  await expect(page.getByRole("alert")).toContainText("The email or password is incorrect.");
  await signIn(page, true, newEmail, PASSWORD);
  await expect(page.getByRole("main")).toContainText(newEmail);
});

test("support switches a person who lost their authenticator app back to email codes", async ({ page, browser }) => {
  const email = await newPerson(page, "Tom", "Vik");

  await enrolAuthenticator(page);

  // Tom loses his phone: signed out, he reaches support from the sign-in page.
  await signOut(page);
  await page.getByRole("link", { name: "Cannot sign in? Contact Global Technical Support" }).click();
  await expect(page).toHaveURL(/\/contact$/);
  await ready(page, true);
  await page.getByLabel("Your email address").fill(email);
  await page.getByLabel("Topic").selectOption("mfa");
  await page.getByLabel("Message").fill("I lost my phone with the authenticator app.");
  await page.getByRole("button", { name: "Send" }).click();
  await expect(page.getByRole("status")).toContainText(/Request #\d+ sent/);

  // Support sees the request under Tom's name and switches him to email codes under a ticket.
  const staff = await newSupportStaff(browser);
  await staff.goto("/support");
  await ready(staff, true);
  const request = staff.getByRole("row").filter({ hasText: "I lost my phone with the authenticator app." });
  await expect(request).toContainText("Tom Vik");
  await openPerson(staff, email, "Tom Vik");
  const switchCard = staff.getByRole("region", { name: "Switch sign-in to email codes" });
  await expect(switchCard).toContainText("Sign-in method now: Authenticator app");
  const ticket = switchCard.getByLabel("Ticket reference");
  const start = switchCard.getByRole("button", { name: "Switch sign-in to email codes" });

  await start.click();
  await expect(ticket).toHaveAccessibleDescription(/Enter the ticket reference/);

  // The confirmation names the person and the ticket; Cancel changes nothing.
  await ticket.fill("INC-5150");
  await start.click();
  const yes = switchCard.getByRole("button", { name: "Yes, switch to email codes" });
  await expect(yes).toBeFocused();
  await expect(switchCard).toContainText("Switch Tom Vik to email codes under ticket INC-5150?");
  await switchCard.getByRole("link", { name: "Cancel" }).click();
  await expect(ticket).toHaveValue("INC-5150");
  await expect(switchCard).toContainText("Sign-in method now: Authenticator app");

  await start.click();
  await yes.click();
  await expect(switchCard.getByRole("status")).toHaveText(
    `On hold: Tom Vik was mailed at ${email} to approve the switch to email codes. Without approval it happens in 24 hours.`
  );
  // Tom, who has his mail but not his app, approves it.
  await approveHeldChange(page, email);
  await staff.reload();
  await ready(staff, true);
  await expect(switchCard).toContainText("Sign-in method now: Email codes");
  await expect(switchCard).toContainText("This person already signs in with email codes.");
  await expect(staff.getByRole("region", { name: "Activity" })).toContainText("ticket INC-5150");
  await expect
    .poll(() => mailsTo(email).filter((m) => m.subject.includes("sign-in method was changed")).length)
    .toBe(2);

  // Tom signs in with a code mailed to him; the app is no longer asked for.
  await submitPassword(page, true, email, PASSWORD);
  await expect(page).toHaveURL(/\/login\/verify$/);
  await ready(page, true);
  await expect(page.getByLabel("Code from your app")).toHaveCount(0);
  await page.getByLabel("Sign-in code").fill(await signInCode(email));
  await page.getByRole("button", { name: "Verify and sign in" }).click();
  await expect(page).toHaveURL(/\/profile$/);
});

test("without JavaScript, support finds a person and switches them to email codes through the same two steps", async ({
  page,
  browser,
}) => {
  const email = await newPerson(page, "Una", "Dahl");
  await enrolAuthenticator(page);

  const staff = await newSupportStaff(browser, false);
  await openPerson(staff, email, "Una Dahl", false);
  const switchCard = staff.getByRole("region", { name: "Switch sign-in to email codes" });
  await switchCard.getByLabel("Ticket reference").fill("INC-6060");
  await switchCard.getByRole("button", { name: "Switch sign-in to email codes" }).click();
  await expect(switchCard).toContainText("Switch Una Dahl to email codes under ticket INC-6060?");
  await switchCard.getByRole("button", { name: "Yes, switch to email codes" }).click();
  await expect(staff.getByRole("region", { name: "Profile", exact: true })).toContainText("On hold");
  await expect(staff.getByRole("region", { name: "Activity" })).toContainText("ticket INC-6060");
  // Una approves it from her address, without JavaScript too.
  const link = /https?:\/\/\S+\/support-change\?token=[\w-]+/.exec(
    mailsTo(email).filter((m) => m.subject.includes("is changing how you sign in"))[0].text,
  )![0];
  const una = await (await browser.newContext({ javaScriptEnabled: false })).newPage();
  await una.goto(link);
  await una.getByRole("button", { name: "Yes, I asked for this: go ahead now" }).click();
  await expect(una.getByRole("status")).toContainText("has gone ahead");
  await staff.reload();
  await expect(switchCard).toContainText("Sign-in method now: Email codes");
});
