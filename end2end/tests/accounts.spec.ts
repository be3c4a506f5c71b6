import { expect, test, type Browser, type Page } from "@playwright/test";
import { mailsTo, ready, signUp, uniqueEmail, pressMailLink, verificationLink } from "./helpers";

const PASSWORD = "violet tractor mango 42";

/** A new person, signed up and signed in in their own browser context, with a confirmed email. */
async function person(browser: Browser, first: string, last: string, confirm = true) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const email = uniqueEmail(first.toLowerCase());
  await signUp(page, true, { first, last, email, password: PASSWORD });
  await expect(page).toHaveURL(/\/profile$/);
  if (confirm) await confirmEmail(page, email);
  return { page, email, name: `${first} ${last}` };
}

async function confirmEmail(page: Page, email: string) {
  await pressMailLink(page, true, await verificationLink(email), "Confirm email address");
  await expect(page.getByRole("status")).toContainText(`${email} is confirmed`);
}

async function open(page: Page, url: string) {
  await page.goto(url);
  await ready(page, true);
}

/** Creates an account from /accounts; returns its page's path. */
async function createAccount(page: Page, name: string): Promise<string> {
  await open(page, "/accounts");
  await page.getByLabel("Name").fill(name);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/accounts\/\d+$/);
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
  await expect(page.getByText("Your role: Owner")).toBeVisible();
  return new URL(page.url()).pathname;
}

async function invite(page: Page, email: string, role: "User" | "Administrator") {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Role", { exact: true }).selectOption({ label: role });
  await page.getByRole("button", { name: "Send invitation" }).click();
  await expect(page.getByRole("status")).toContainText(`Invitation sent to ${email}`);
  await expect(page.getByRole("region", { name: "Pending invitations" }).getByRole("row", { name: email })).toBeVisible();
}

const menuButton = (page: Page) => page.getByRole("banner").getByRole("button", { name: /^Account menu for / });
const tabs = (page: Page) => page.getByRole("tablist", { name: "Profile sections" });

test("an invitation accepted, another declined, roles shown, ownership transferred", async ({ browser }) => {
  test.setTimeout(120_000);
  const owner = await person(browser, "Olga", "Olsen");
  const bo = await person(browser, "Bo", "Berg");

  const acme = await createAccount(owner.page, "Acme");
  // The top bar follows without a reload: the menu lists the accounts.
  await menuButton(owner.page).click();
  await expect(owner.page.getByRole("link", { name: "Accounts" })).toHaveAttribute("href", "/accounts");
  await expect(owner.page.getByRole("link", { name: "Support console" })).toHaveCount(0);
  await menuButton(owner.page).click();

  await invite(owner.page, bo.email, "User");
  // A bad address is explained under the field.
  await owner.page.getByLabel("Email").fill("not an address");
  await owner.page.getByRole("button", { name: "Send invitation" }).click();
  await expect(owner.page.getByLabel("Email")).toHaveAttribute("aria-invalid", "true");
  await expect(owner.page.locator("#field-email-error")).not.toBeEmpty();

  const globex = await createAccount(owner.page, "Globex");
  await invite(owner.page, bo.email, "Administrator");

  // Bo sees the count in the menu, on the tab and on the Dashboard.
  await open(bo.page, "/profile");
  await expect(menuButton(bo.page)).toHaveAccessibleName("Account menu for Bo Berg, 2 open invitations");
  await expect(tabs(bo.page).getByRole("tab", { name: "Invitations, 2 open" })).toBeVisible();
  const card = bo.page.getByRole("region", { name: /^Invitations/ });
  await expect(card).toContainText("You have 2 open invitations.");
  await card.getByRole("link", { name: "Answer your invitations" }).click();
  await expect(bo.page).toHaveURL(/\/profile\/invitations$/);

  const list = bo.page.getByRole("list", { name: "Open invitations" });
  const acmeItem = list.getByRole("listitem", { name: "Acme" });
  await expect(acmeItem).toContainText("User");
  await expect(acmeItem).toContainText("Olga Olsen");
  await expect(acmeItem).toContainText("Expires");
  await acmeItem.getByRole("button", { name: "Accept" }).click();
  const status = bo.page.getByRole("status").filter({ hasText: "You joined" });
  await expect(status).toContainText("You joined Acme as User.");
  await expect(status.getByRole("link", { name: "Open Acme" })).toHaveAttribute("href", acme);
  await expect(list.getByRole("listitem")).toHaveCount(1);
  await expect(tabs(bo.page).getByRole("tab", { name: "Invitations, 1 open" })).toBeVisible();

  // The other one is declined and disappears; no badge is left.
  await list.getByRole("listitem", { name: "Globex" }).getByRole("button", { name: "Decline" }).click();
  await expect(bo.page.getByRole("status").filter({ hasText: "declined" })).toContainText(
    "You declined the invitation to Globex."
  );
  await expect(bo.page.getByText("You have no open invitations.")).toBeVisible();
  await expect(tabs(bo.page).getByRole("tab", { name: "Invitations", exact: true })).toBeVisible();
  await expect(menuButton(bo.page)).toHaveAccessibleName("Account menu for Bo Berg");

  // The Profile tab lists the role, with a link to the account.
  await tabs(bo.page).getByRole("tab", { name: "Profile" }).click();
  const roles = bo.page.getByRole("list", { name: "Roles" });
  await expect(roles.getByRole("listitem")).toHaveText(["User of Acme"]);
  await expect(roles.getByRole("link", { name: "Acme" })).toHaveAttribute("href", acme);

  // Globex no longer lists the declined invitation.
  await open(owner.page, globex);
  await expect(owner.page.getByText("No invitations are waiting for an answer.")).toBeVisible();

  // Acme lists Bo as a User; the Owner hands the account over.
  await open(owner.page, acme);
  const boRow = owner.page.getByRole("region", { name: "Members" }).getByRole("row", { name: new RegExp(bo.name) });
  await expect(boRow).toContainText("User");
  await expect(owner.page.getByRole("region", { name: "Leave this account" })).toHaveCount(0);
  const transfer = owner.page.getByRole("region", { name: "Transfer ownership" });
  await transfer.getByLabel("New owner").selectOption({ label: `${bo.name} (${bo.email}), User` });
  await transfer.getByLabel("Your password").fill("not my password");
  await transfer.getByRole("button", { name: "Transfer ownership" }).click();
  await expect(transfer.getByText("That password is not right.")).toBeVisible();
  await expect(transfer.getByLabel("Your password")).toHaveAttribute("aria-invalid", "true");

  await transfer.getByLabel("Your password").fill(PASSWORD);
  await transfer.getByRole("button", { name: "Transfer ownership" }).click();
  await expect(owner.page.getByRole("status")).toContainText(`${bo.name} is now the Owner of Acme.`);
  await expect(owner.page.getByText("Your role: Administrator")).toBeVisible();
  await expect(boRow).toContainText("Owner");
  await expect(owner.page.getByRole("region", { name: "Transfer ownership" })).toHaveCount(0);

  // The former Owner sees themselves as Administrator on the Profile tab and the Dashboard.
  await open(owner.page, "/profile/details");
  await expect(owner.page.getByRole("list", { name: "Roles" }).getByRole("listitem")).toHaveText([
    "Administrator of Acme",
    "Owner of Globex",
  ]);
  await open(owner.page, "/profile");
  const accounts = owner.page.getByRole("region", { name: "Your accounts" });
  await expect(accounts.getByRole("listitem").filter({ hasText: "Acme" })).toContainText("Administrator");

  // And the new Owner sees it too.
  await open(bo.page, "/profile/details");
  await expect(bo.page.getByRole("list", { name: "Roles" }).getByRole("listitem")).toHaveText(["Owner of Acme"]);
});

test("an invitation to a new address leads to sign-up with the address locked", async ({ browser }) => {
  test.setTimeout(120_000);
  const owner = await person(browser, "Uma", "Ude");
  const acme = await createAccount(owner.page, "Initech");
  const newcomer = uniqueEmail("nia");
  await invite(owner.page, newcomer, "Administrator");

  let link = "";
  await expect
    .poll(() => {
      link = mailsTo(newcomer)
        .map((m) => /https?:\/\/\S+\/signup\?invitation=[\w-]+/.exec(m.text)?.[0])
        .find((l) => !!l) ?? "";
      return link;
    })
    .not.toBe("");

  const context = await browser.newContext();
  const page = await context.newPage();
  await open(page, link);
  await expect(page.getByText("Uma Ude invited you to join Initech")).toBeVisible();
  const email = page.getByLabel("Email");
  await expect(email).toHaveValue(newcomer);
  await expect(email).not.toBeEditable();
  await page.getByLabel("First name").fill("Nia");
  await page.getByLabel("Last name").fill("Noor");
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/profile$/);
  await ready(page, true);
  // Nothing shows who invited this address until the person proves it is theirs.
  await expect(menuButton(page)).toHaveAccessibleName("Account menu for Nia Noor");

  // Not a member yet: the account's page says so instead of failing.
  await open(page, acme);
  await expect(page.getByRole("alert")).toHaveText("You are not a member of this account.");

  // The invitation waits for a confirmed address.
  await open(page, "/profile/invitations");
  await expect(page.getByText("appear here once you confirm it")).toBeVisible();
  await expect(page.getByRole("listitem", { name: "Initech" })).toHaveCount(0);

  await confirmEmail(page, newcomer);
  await open(page, "/profile/invitations");
  await expect(menuButton(page)).toHaveAccessibleName("Account menu for Nia Noor, 1 open invitation");
  await page.getByRole("listitem", { name: "Initech" }).getByRole("button", { name: "Accept" }).click();
  await expect(page.getByRole("status").filter({ hasText: "You joined" })).toContainText(
    "You joined Initech as Administrator."
  );
  await open(page, acme);
  await expect(page.getByText("Your role: Administrator")).toBeVisible();

  // A used invitation link no longer locks the form.
  await context.clearCookies();
  await open(page, link);
  await expect(page.getByText("This invitation is no longer open")).toBeVisible();
  await expect(page.getByLabel("Email")).toBeEditable();
});

test("an owner revokes an invitation, changes a role and removes a member; an administrator leaves", async ({ browser }) => {
  test.setTimeout(120_000);
  const owner = await person(browser, "Ida", "Ilves");
  const bo = await person(browser, "Bo", "Berg");
  const cy = await person(browser, "Cy", "Cole");
  const umbrella = await createAccount(owner.page, "Umbrella");
  await invite(owner.page, bo.email, "User");
  await invite(owner.page, cy.email, "User");
  const stranger = uniqueEmail("dan");
  await invite(owner.page, stranger, "User");

  // Revoking takes the invitation off the list.
  const pending = owner.page.getByRole("region", { name: "Pending invitations" });
  await pending.getByRole("button", { name: `Revoke the invitation to ${stranger}` }).click();
  await expect(owner.page.getByRole("status")).toHaveText(`The invitation to ${stranger} was revoked.`);
  await expect(pending.getByRole("row", { name: stranger })).toHaveCount(0);

  for (const who of [bo, cy]) {
    await open(who.page, "/profile/invitations");
    await who.page.getByRole("listitem", { name: "Umbrella" }).getByRole("button", { name: "Accept" }).click();
    await expect(who.page.getByRole("status").filter({ hasText: "You joined" })).toContainText("You joined Umbrella as User.");
  }

  await open(owner.page, umbrella);
  const members = owner.page.getByRole("region", { name: "Members" });
  await expect(members.getByRole("row")).toHaveCount(4);
  // The Owner's own row offers nothing to change.
  await expect(members.getByRole("row", { name: /Ida Ilves/ }).getByRole("button")).toHaveCount(0);

  await owner.page.getByLabel(`Role of ${bo.name}`).selectOption({ label: "Administrator" });
  await owner.page.getByRole("button", { name: `Change role of ${bo.name}` }).click();
  await expect(owner.page.getByRole("status")).toHaveText(`${bo.name} is now an Administrator.`);
  await expect(members.getByRole("row", { name: /Bo Berg/ }).getByRole("cell").nth(1)).toHaveText("Administrator");

  // Removing asks first.
  await owner.page.getByRole("button", { name: `Remove ${cy.name}`, exact: true }).click();
  await owner.page.getByRole("button", { name: `Yes, remove ${cy.name}` }).click();
  await expect(owner.page.getByRole("status")).toHaveText(`${cy.name} was removed from Umbrella.`);
  await expect(members.getByRole("row", { name: /Cy Cole/ })).toHaveCount(0);

  await open(cy.page, umbrella);
  await expect(cy.page.getByRole("alert")).toHaveText("You are not a member of this account.");

  // An Administrator manages members but cannot hand the account over, and may leave.
  await open(bo.page, umbrella);
  await expect(bo.page.getByText("Your role: Administrator")).toBeVisible();
  await expect(bo.page.getByRole("region", { name: "Invite someone" })).toBeVisible();
  await expect(bo.page.getByRole("region", { name: "Transfer ownership" })).toHaveCount(0);
  await bo.page.getByRole("button", { name: "Leave account" }).click();
  await bo.page.getByRole("button", { name: "Yes, leave Umbrella" }).click();
  await expect(bo.page).toHaveURL(/\/accounts\?left=1$/);
  await expect(bo.page.getByRole("status")).toHaveText("You left the account.");
  await expect(bo.page.getByText("You are not a member of any account yet.")).toBeVisible();
});
