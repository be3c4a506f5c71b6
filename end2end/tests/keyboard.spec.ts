import { expect, test, type Page } from "@playwright/test";
import * as path from "node:path";
import * as OTPAuth from "otpauth";
import { documentStart, grantSupport, newDocument, pressButton, ready, signInByKeyboard, tabTo, textedCode, typeInto, uniqueEmail, verificationLink } from "./helpers";

const PASSWORD = "violet tractor mango 42";
const QUADRANTS = path.join(__dirname, "..", "fixtures", "quadrants.png");

test("sign-up, sign-in, the profile form and the avatar editor work with the keyboard alone", async ({ page }) => {
  test.setTimeout(90_000);
  const email = uniqueEmail("kim");

  // Sign up.
  await page.goto("/signup");
  await ready(page, true);
  await typeInto(page, page.getByLabel("First name"), "Kim");
  await typeInto(page, page.getByLabel("Last name"), "Lund");
  await typeInto(page, page.getByLabel("Email"), email);
  await typeInto(page, page.getByLabel("Password", { exact: true }), PASSWORD);
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/profile$/);
  await ready(page, true);

  // The Profile tab: a new first name, saved with Enter.
  await pressButton(page, page.getByRole("tab", { name: "Profile" }));
  await expect(page).toHaveURL(/\/profile\/details$/);
  await ready(page, true);
  await typeInto(page, page.getByLabel("First name"), "Kimi");
  await pressButton(page, page.getByRole("button", { name: "Save changes" }));
  await expect(page.locator(".topbar .user-name")).toHaveText("Kimi Lund");

  // The avatar editor: open, choose a file, crop with keys, update.
  const editAvatar = page.getByRole("button", { name: "Edit avatar" });
  await pressButton(page, editAvatar);
  const dialog = page.getByRole("dialog", { name: "Profile picture" });
  await expect(dialog).toBeVisible();
  const chooser = page.waitForEvent("filechooser");
  await tabTo(page, dialog.locator("#avatar-file"));
  await page.keyboard.press("Space");
  await (await chooser).setFiles(QUADRANTS);
  const stage = dialog.getByRole("group", { name: /Picture position/ });
  await tabTo(page, stage);
  for (let i = 0; i < 4; i++) await page.keyboard.press("+");
  for (let i = 0; i < 5; i++) await page.keyboard.press("ArrowLeft");
  expect(Number(await dialog.getByRole("slider", { name: "Zoom" }).inputValue())).toBeGreaterThan(1);
  await pressButton(page, dialog.getByRole("button", { name: "Update" }));
  await expect(dialog).toBeHidden();
  await expect(page.locator(".topbar .avatar")).toHaveAttribute("data-avatar", "picture");

  // Escape closes the dialog and gives the focus back to its button.
  await pressButton(page, editAvatar);
  await expect(dialog).toBeVisible();
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(editAvatar).toBeFocused();

  // The Security tab's reset link.
  await pressButton(page, page.getByRole("tab", { name: "Security" }));
  await expect(page).toHaveURL(/\/profile\/security$/);
  await ready(page, true);
  await pressButton(page, page.getByRole("button", { name: "Send reset password link" }));
  await expect(page.getByText(/We sent a reset link to your email/)).toBeVisible();

  // Sign out from the account menu, and back in with the mailed code.
  const consoleDocument = await documentStart(page);
  await pressButton(page, page.getByRole("button", { name: /^Account menu for / }));
  await pressButton(page, page.getByRole("button", { name: "Sign out" }));
  await expect(page).toHaveURL(/\/login$/);
  await newDocument(page, consoleDocument);
  await signInByKeyboard(page, email, PASSWORD);
  await expect(page).toHaveURL(/\/profile$/);
});

/** Signs up by keyboard in a fresh context and confirms the address; returns the page. */
async function keyboardPerson(page: Page, first: string, email: string, phone?: string) {
  await page.goto("/signup");
  await ready(page, true);
  await typeInto(page, page.getByLabel("First name"), first);
  await typeInto(page, page.getByLabel("Last name"), "Keys");
  await typeInto(page, page.getByLabel("Email"), email);
  if (phone) await typeInto(page, page.getByLabel("Phone (optional)"), phone);
  await typeInto(page, page.getByLabel("Password", { exact: true }), PASSWORD);
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/profile$/);
  await page.goto(await verificationLink(email));
  await ready(page, true);
  await pressButton(page, page.getByRole("button", { name: "Confirm email address" }));
  await expect(page.getByRole("status")).toContainText("confirmed");
}

test("accounts (create, invite, role, transfer, leave), an invitation accepted, an authenticator app and the support console work with the keyboard alone", async ({ page, browser }) => {
  test.setTimeout(120_000);
  const owner = uniqueEmail("oda");
  const member = uniqueEmail("max");
  await keyboardPerson(page, "Oda", owner);

  // An account, and an invitation sent from it.
  await page.goto("/accounts");
  await ready(page, true);
  await typeInto(page, page.getByLabel("Name"), "Keyboard Works");
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/accounts\/\d+$/);
  await ready(page, true);
  const other = await (await browser.newContext()).newPage();
  await keyboardPerson(other, "Max", member);
  await typeInto(page, page.getByLabel("Email"), member);
  // A focused select takes the first option starting with the letter typed.
  await tabTo(page, page.getByLabel("Role", { exact: true }));
  await page.keyboard.press("u");
  await pressButton(page, page.getByRole("button", { name: "Send invitation" }));
  await expect(page.getByRole("status")).toContainText(`Invitation sent to ${member}`);

  // The invitation, accepted from the Invitations tab.
  await other.goto("/profile/invitations");
  await ready(other, true);
  await pressButton(other, other.getByRole("listitem", { name: "Keyboard Works" }).getByRole("button", { name: "Accept" }));
  await expect(other.getByRole("status").filter({ hasText: "You joined" })).toContainText("You joined Keyboard Works");

  // The Owner makes Max an Administrator, then hands the account over, then leaves.
  const account = page.url();
  await page.goto(account);
  await ready(page, true);
  await tabTo(page, page.getByLabel("Role of Max Keys"));
  await page.keyboard.press("a");
  await pressButton(page, page.getByRole("button", { name: "Change role of Max Keys" }));
  await expect(page.getByRole("status")).toHaveText("Max Keys is now an Administrator.");
  const transfer = page.getByRole("region", { name: "Transfer ownership" });
  await tabTo(page, transfer.getByLabel("New owner"));
  await page.keyboard.press("m");
  await typeInto(page, transfer.getByLabel("Your password"), PASSWORD);
  await page.keyboard.press("Enter");
  await expect(page.getByRole("status")).toContainText("Max Keys is now the Owner of Keyboard Works.");
  await pressButton(page, page.getByRole("button", { name: "Leave account" }));
  await pressButton(page, page.getByRole("button", { name: "Yes, leave Keyboard Works" }));
  await expect(page).toHaveURL(/\/accounts\?left=1$/);

  // An authenticator app, enrolled from the Security tab.
  await other.goto("/profile/security");
  await ready(other, true);
  const card = other.getByRole("region", { name: "Sign-in protection" });
  await pressButton(other, card.getByRole("button", { name: "Set up an authenticator app" }));
  const key = (await card.locator("#setup-key").textContent())!.trim();
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(key.replace(/ /g, "")), digits: 6, period: 30 });
  await typeInto(other, card.getByLabel("Code from your app"), totp.generate());
  await other.keyboard.press("Enter");
  await expect(card).toContainText("Current method: Authenticator app");

  // The support console: a search and a person's page.
  grantSupport(owner);
  await page.goto("/support");
  await ready(page, true);
  await typeInto(page, page.getByLabel("Email or name"), member);
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/support\?query=/);
  await ready(page, true);
  await pressButton(page, page.getByRole("list", { name: "People found" }).getByRole("link", { name: "Max Keys" }));
  await expect(page).toHaveURL(/\/support\/users\/\d+$/);
  await expect(page.getByRole("heading", { level: 1, name: "Max Keys" })).toBeVisible();
  await ready(page, true);
  const change = page.getByRole("region", { name: "Change email address" });
  await typeInto(page, change.getByLabel("New email address"), uniqueEmail("max.new"));
  await typeInto(page, change.getByLabel("Ticket reference"), "INC-88");
  await page.keyboard.press("Enter");
  await expect(change.getByRole("status")).toContainText("On hold");
});

test("declining and revoking invitations, removing a member and turning on text messages work with the keyboard alone", async ({ page, browser }) => {
  test.setTimeout(120_000);
  await keyboardPerson(page, "Liv", uniqueEmail("liv"));
  await page.goto("/accounts");
  await ready(page, true);
  await typeInto(page, page.getByLabel("Name"), "Second Works");
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/accounts\/\d+$/);
  await ready(page, true);
  const invite = async (email: string) => {
    await typeInto(page, page.getByLabel("Email"), email);
    await tabTo(page, page.getByLabel("Role", { exact: true }));
    await page.keyboard.press("u");
    await pressButton(page, page.getByRole("button", { name: "Send invitation" }));
    await expect(page.getByRole("status")).toContainText(`Invitation sent to ${email}`);
  };

  // One invitation revoked by its sender, one declined, one accepted and the member removed.
  const stranger = uniqueEmail("stranger");
  await invite(stranger);
  await pressButton(page, page.getByRole("button", { name: `Revoke the invitation to ${stranger}` }));
  await expect(page.getByRole("status")).toHaveText(`The invitation to ${stranger} was revoked.`);

  const e164 = `+141555501${String(Math.floor(Math.random() * 100)).padStart(2, "0")}`;
  const nia = await (await browser.newContext()).newPage();
  const niaEmail = uniqueEmail("nia");
  await keyboardPerson(nia, "Nia", niaEmail, e164);
  await invite(niaEmail);
  await nia.goto("/profile/invitations");
  await ready(nia, true);
  await pressButton(nia, nia.getByRole("listitem", { name: "Second Works" }).getByRole("button", { name: "Decline" }));
  await expect(nia.getByRole("status").filter({ hasText: "declined" })).toContainText("You declined the invitation to Second Works.");
  await invite(niaEmail);
  await nia.goto("/profile/invitations");
  await ready(nia, true);
  await pressButton(nia, nia.getByRole("listitem", { name: "Second Works" }).getByRole("button", { name: "Accept" }));
  await expect(nia.getByRole("status").filter({ hasText: "You joined" })).toContainText("You joined Second Works");
  await page.reload();
  await ready(page, true);
  await pressButton(page, page.getByRole("button", { name: "Remove Nia Keys", exact: true }));
  await pressButton(page, page.getByRole("button", { name: "Yes, remove Nia Keys" }));
  await expect(page.getByRole("status")).toHaveText("Nia Keys was removed from Second Works.");

  // Text messages, with the texted code typed back.
  await nia.goto("/profile/security");
  await ready(nia, true);
  const card = nia.getByRole("region", { name: "Sign-in protection" });
  await pressButton(nia, card.getByRole("button", { name: "Use text messages" }));
  await typeInto(nia, card.getByLabel("Code from the text message"), await textedCode(e164));
  await nia.keyboard.press("Enter");
  await expect(card).toContainText("Current method: Text message (SMS)");
});
