import { expect, test, type Page } from "@playwright/test";
import * as path from "node:path";
import { cpURL } from "../playwright.config";
import { pressButton, ready, signIn, signInByKeyboard, signInCode, signOut, signUp, uniqueEmail } from "./helpers";

const PASSWORD = "violet tractor mango 42";
const QUADRANTS = path.join(__dirname, "..", "fixtures", "quadrants.png");

/** Password and emailed code on the sign-in page the browser is on. */
async function signInHere(page: Page, email: string) {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/login\/verify$/);
  await ready(page, true);
  await page.getByLabel("Sign-in code").fill(await signInCode(email));
  await page.getByRole("button", { name: "Verify and sign in" }).click();
}

test("ConnectivityPro signs a person in through Atrium, again without a password, and out with Atrium", async ({
  page,
}) => {
  // A person with a picture, signed out of Atrium.
  const email = uniqueEmail("cara");
  await signUp(page, true, { first: "Cara", last: "Ngo", email, password: PASSWORD });
  await expect(page).toHaveURL(/\/profile$/);
  await ready(page, true);
  await page.getByRole("button", { name: "Edit avatar" }).click();
  const dialog = page.getByRole("dialog", { name: "Profile picture" });
  await dialog.locator("#avatar-file").setInputFiles(QUADRANTS);
  await expect(dialog.getByRole("group", { name: /Picture position/ })).toBeVisible();
  await dialog.getByRole("button", { name: "Update" }).click();
  await expect(dialog).toBeHidden();
  const picture = await page.locator(".topbar .avatar").getAttribute("src");
  expect(picture).toMatch(/^\/avatars\/[0-9a-f]{32}\/128$/);
  await signOut(page);

  // "Sign in with Atrium" leads to Atrium's sign-in, which names the platform.
  await page.goto(cpURL);
  await page.getByRole("link", { name: "Sign in with Atrium" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await ready(page, true);
  await expect(page.locator("#continue-to")).toHaveText("Sign in to continue to ConnectivityPro");
  await signInHere(page, email);

  // Back on ConnectivityPro: the name and the Atrium picture in its top bar.
  await expect(page).toHaveURL(`${cpURL}/`);
  const bar = page.getByRole("navigation", { name: "Account" });
  await expect(bar.locator("#person")).toHaveText("Cara Ngo");
  await expect(bar.locator("img")).toHaveAttribute("src", new RegExp(`${picture}$`));
  await expect.poll(() => bar.locator("img").evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(128);
  await expect(bar.getByRole("link", { name: "Manage your profile" })).toHaveAttribute("href", /\/profile$/);

  // Signing out of ConnectivityPro alone, then in again: no password, no code.
  await bar.getByRole("link", { name: "Sign out" }).click();
  await expect(page).toHaveURL(`${cpURL}/`);
  await expect(page.getByRole("link", { name: "Sign in with Atrium" })).toBeVisible();
  // RP-initiated logout signed Atrium out too: sign in to Atrium again.
  await page.goto("/profile");
  await expect(page).toHaveURL(/\/login/);
  await ready(page, true);
  await signInHere(page, email);
  await expect(page).toHaveURL(/\/profile$/);

  await page.goto(cpURL);
  await page.getByRole("link", { name: "Sign in with Atrium" }).click();
  await expect(page).toHaveURL(`${cpURL}/`);
  await expect(page.locator("#person")).toHaveText("Cara Ngo");

  // Signing out of Atrium signs ConnectivityPro out (back-channel logout).
  await page.goto("/profile");
  await ready(page, true);
  await signOut(page);
  await expect
    .poll(async () => {
      await page.goto(cpURL);
      return page.getByRole("link", { name: "Sign in with Atrium" }).count();
    })
    .toBe(1);
});

test("the devices list shows a second browser with its platforms and signs it out", async ({ page, browser }) => {
  const email = uniqueEmail("dev");
  await signUp(page, true, { first: "Dev", last: "Ice", email, password: PASSWORD });
  await expect(page).toHaveURL(/\/profile$/);

  // A second browser signs in, and to ConnectivityPro through Atrium.
  const other = await (await browser.newContext()).newPage();
  await signIn(other, true, email, PASSWORD);
  await other.goto(cpURL);
  await other.getByRole("link", { name: "Sign in with Atrium" }).click();
  await expect(other.locator("#person")).toHaveText("Dev Ice");

  await page.goto("/profile/security");
  await ready(page, true);
  const card = page.getByRole("region", { name: "Where you're signed in" });
  const items = card.getByRole("listitem");
  await expect(items).toHaveCount(2);
  await expect(items.first()).toContainText("This device");
  await expect(items.nth(1)).toContainText("Signed in to ConnectivityPro");
  await expect(items.first().getByRole("button", { name: /^Sign out/ })).toHaveCount(0);

  await items.nth(1).getByRole("button", { name: /^Sign out/ }).click();
  await expect(items).toHaveCount(1);
  await expect(card.getByRole("button", { name: "Sign out everywhere else" })).toHaveCount(0);

  // That browser is signed out of Atrium, and of ConnectivityPro (back channel).
  await other.goto("/profile");
  await expect(other).toHaveURL(/\/login/);
  await expect
    .poll(async () => {
      await other.goto(cpURL);
      return other.getByRole("link", { name: "Sign in with Atrium" }).count();
    })
    .toBe(1);
});

test("a name saved in Atrium reaches ConnectivityPro by signed webhook, with no new sign-in", async ({ page }) => {
  const email = uniqueEmail("web");
  await signUp(page, true, { first: "Wen", last: "Bo", email, password: PASSWORD });
  await expect(page).toHaveURL(/\/profile$/);
  await page.goto(cpURL);
  await page.getByRole("link", { name: "Sign in with Atrium" }).click();
  await expect(page.locator("#person")).toHaveText("Wen Bo");

  await page.goto("/profile/details");
  await ready(page, true);
  await page.getByLabel("First name").fill("Wendy");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Your profile was saved." })).toBeVisible();

  // ConnectivityPro's own page, still signed in there, shows the new name.
  await expect
    .poll(
      async () => {
        await page.goto(cpURL);
        return page.locator("#person").textContent();
      },
      { timeout: 10_000 },
    )
    .toBe("Wendy Bo");
  await expect(page.getByRole("link", { name: "Sign in with Atrium" })).toHaveCount(0);

  // A new picture reaches it the same way.
  await page.goto("/profile/details");
  await ready(page, true);
  await page.getByRole("button", { name: "Edit avatar" }).click();
  const dialog = page.getByRole("dialog", { name: "Profile picture" });
  await dialog.locator("#avatar-file").setInputFiles(QUADRANTS);
  await expect(dialog.getByRole("group", { name: /Picture position/ })).toBeVisible();
  await dialog.getByRole("button", { name: "Update" }).click();
  await expect(dialog).toBeHidden();
  const picture = await page.locator(".topbar .avatar").getAttribute("src");
  expect(picture).toMatch(/^\/avatars\/[0-9a-f]{32}\/128$/);
  await expect
    .poll(
      async () => {
        await page.goto(cpURL);
        // Until the webhook arrives there is no picture: read none rather
        // than wait on this load for an image that only a reload can bring.
        const img = page.getByRole("navigation", { name: "Account" }).locator("img");
        return (await img.count()) > 0 ? img.getAttribute("src") : null;
      },
      { timeout: 10_000 },
    )
    .toMatch(new RegExp(`${picture}$`));
});

test("signing in to ConnectivityPro through Atrium works with the keyboard alone", async ({ page }) => {
  const email = uniqueEmail("kip");
  await signUp(page, true, { first: "Kip", last: "Tabb", email, password: PASSWORD });
  await expect(page).toHaveURL(/\/profile$/);
  await ready(page, true);
  await signOut(page);

  await page.goto(cpURL);
  await pressButton(page, page.getByRole("link", { name: "Sign in with Atrium" }));
  await expect(page).toHaveURL(/\/login$/);
  await ready(page, true);
  await signInByKeyboard(page, email, PASSWORD);

  await expect(page).toHaveURL(`${cpURL}/`);
  const bar = page.getByRole("navigation", { name: "Account" });
  await expect(bar.locator("#person")).toHaveText("Kip Tabb");
  // Atrium's profile is one link away, and signing out is one key press.
  await expect(bar.getByRole("link", { name: "Manage your profile" })).toHaveAttribute("href", /\/profile$/);
  await pressButton(page, bar.getByRole("link", { name: "Sign out" }));
  await expect(page).toHaveURL(`${cpURL}/`);
  await expect(page.getByRole("link", { name: "Sign in with Atrium" })).toBeVisible();
});
