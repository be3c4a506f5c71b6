import { expect, test, type Browser } from "@playwright/test";
import { ready, signUp, uniqueEmail, pressMailLink, verificationLink } from "./helpers";

// Account and invitation forms are plain forms underneath: they work without JavaScript.
test.use({ javaScriptEnabled: false });

const PASSWORD = "violet tractor mango 42";

/** A new person with a confirmed email, signed in in a context without JavaScript. */
async function person(browser: Browser, first: string) {
  const page = await (await browser.newContext({ javaScriptEnabled: false })).newPage();
  const email = uniqueEmail(first.toLowerCase());
  await signUp(page, false, { first, last: "Nojs", email, password: PASSWORD });
  await expect(page).toHaveURL(/\/profile$/);
  await pressMailLink(page, false, await verificationLink(email), "Confirm email address");
  await expect(page.getByRole("status")).toContainText(`${email} is confirmed`);
  return { page, email };
}

test("without JavaScript an owner creates an account and invites, and the invitee accepts", async ({ browser }) => {
  const owner = await person(browser, "Oona");
  const guest = await person(browser, "Gil");

  await owner.page.goto("/accounts");
  await ready(owner.page, false);
  await owner.page.getByLabel("Name").fill("Plainforms");
  await owner.page.getByRole("button", { name: "Create account" }).click();
  await expect(owner.page).toHaveURL(/\/accounts\/\d+$/);
  await expect(owner.page.getByRole("heading", { level: 1, name: "Plainforms" })).toBeVisible();
  const account = new URL(owner.page.url()).pathname;

  await owner.page.getByLabel("Email").fill(guest.email);
  await owner.page.getByLabel("Role", { exact: true }).selectOption({ label: "Administrator" });
  await owner.page.getByRole("button", { name: "Send invitation" }).click();
  await expect(owner.page).toHaveURL(new RegExp(`${account}\\??$`));
  await expect(
    owner.page.getByRole("region", { name: "Pending invitations" }).getByRole("row", { name: guest.email })
  ).toBeVisible();

  await guest.page.goto("/profile/invitations");
  await ready(guest.page, false);
  const item = guest.page.getByRole("listitem", { name: "Plainforms" });
  await expect(item).toContainText("Administrator");
  await item.getByRole("button", { name: "Accept" }).click();
  await expect(guest.page.getByText("You have no open invitations.")).toBeVisible();

  await guest.page.goto("/profile/details");
  await expect(guest.page.getByRole("list", { name: "Roles" }).getByRole("listitem")).toHaveText([
    "Administrator of Plainforms",
  ]);
  await guest.page.goto(account);
  await expect(guest.page.getByText("Your role: Administrator")).toBeVisible();
});
