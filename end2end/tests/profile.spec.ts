import { expect, test, type Page } from "@playwright/test";
import * as path from "node:path";
import { ready, signIn, signOut, signUp, uniqueEmail } from "./helpers";

const PASSWORD = "violet tractor mango 42";
// 400 × 400: red top-left, green top-right, blue bottom-left, yellow bottom-right.
const QUADRANTS = path.join(__dirname, "..", "fixtures", "quadrants.png");

async function newUser(page: Page, first = "Ann", last = "Lee") {
  await signUp(page, true, { first, last, email: uniqueEmail(first.toLowerCase()), password: PASSWORD });
  await expect(page).toHaveURL(/\/profile$/);
  await ready(page, true);
}

/** A marker on `window` that a full page load would wipe out. */
async function markPage(page: Page) {
  await page.evaluate(() => ((window as unknown as { atriumMark: number }).atriumMark = 1));
}
async function expectSamePage(page: Page) {
  expect(await page.evaluate(() => (window as unknown as { atriumMark?: number }).atriumMark)).toBe(1);
}

/** The colour at the centre of an image URL, read through a canvas, and its size. */
async function centrePixel(page: Page, url: string) {
  return page.evaluate(async (src) => {
    const img = new Image();
    img.src = src;
    await img.decode();
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const ctx = canvas.getContext("2d")!;
    ctx.drawImage(img, 0, 0);
    const [r, g, b] = ctx.getImageData(img.naturalWidth / 2, img.naturalHeight / 2, 1, 1).data;
    return { r, g, b, width: img.naturalWidth, height: img.naturalHeight };
  }, url);
}

const topBarName = (page: Page) => page.locator(".topbar .user-name");

test("the profile form saves names and phone, and the top bar follows at once", async ({ page }) => {
  await newUser(page);
  await page.getByRole("tab", { name: "Profile" }).click();
  await expect(page).toHaveURL(/\/profile\/details$/);
  await markPage(page);

  await page.getByLabel("First name").fill("Zoë");
  await page.getByLabel("Last name").fill("<b>Ñúñez</b>");
  await page.getByLabel("Country").selectOption("GB");
  const phone = page.getByLabel("Phone", { exact: true });

  // A bad number is explained under the field while typing.
  await phone.fill("04444 444444");
  const phoneError = page.locator("#field-phone-error");
  await expect(phoneError).toHaveText("This is not a valid number for United Kingdom.");
  await expect(phone).toHaveAttribute("aria-invalid", "true");
  await expect(phone).toHaveAttribute("aria-describedby", /field-phone-error/);

  await phone.fill("07400 123456");
  await expect(page.getByText("Will be saved as +44 7400 123456")).toBeVisible();
  await expect(phoneError).toHaveText("");
  await page.getByRole("button", { name: "Save changes" }).click();

  await expect(page.getByRole("status").filter({ hasText: "Your profile was saved." })).toBeVisible();
  await expect(topBarName(page)).toHaveText("Zoë <b>Ñúñez</b>");
  await expect(phone).toHaveValue("+44 7400 123456");
  await expectSamePage(page);

  // The Dashboard shows the new name too, still without a reload.
  await page.getByRole("tab", { name: "Dashboard" }).click();
  await expect(page.getByTestId("dashboard-name")).toHaveText("Zoë <b>Ñúñez</b>");
  await expect(page.getByText("+44 7400 123456")).toBeVisible();
  await expectSamePage(page);
});

test("a save based on an older version is refused and offers the fresh values", async ({ page, context }) => {
  await newUser(page, "Ola", "Berg");
  await page.goto("/profile/details");
  await ready(page, true);
  const other = await context.newPage();
  await other.goto("/profile/details");
  await ready(other, true);

  // The first tab is being edited when the second tab saves.
  await page.getByLabel("Last name").fill("Bergman");
  await other.getByLabel("First name").fill("Olaf");
  await other.getByRole("button", { name: "Save changes" }).click();
  await expect(other.getByText("Your profile was saved.")).toBeVisible();

  // The first tab hears of it live, keeps what was typed and says so; its
  // form still holds the old version, so saving is refused, not lost.
  await expect(page.locator("#changed-elsewhere")).toContainText("changed in another tab");
  await expect(page.getByLabel("Last name")).toHaveValue("Bergman");
  await expect(topBarName(page)).toHaveText("Olaf Berg");
  await page.getByRole("button", { name: "Save changes" }).click();
  const conflict = page.getByRole("alert").filter({ hasText: "changed in another tab" });
  await expect(conflict).toBeVisible();
  await conflict.getByRole("link", { name: "Reload latest values" }).click();
  await ready(page, true);
  await expect(page.getByLabel("First name")).toHaveValue("Olaf");
  await expect(page.getByLabel("Last name")).toHaveValue("Berg");
});

test("a name saved in one browser shows in another's top bar and form with no reload; a session ended elsewhere goes to sign-in", async ({
  page,
  browser,
}) => {
  const email = uniqueEmail("liv");
  await signUp(page, true, { first: "Liv", last: "Ray", email, password: PASSWORD });
  await expect(page).toHaveURL(/\/profile$/);
  const laptop = await (await browser.newContext()).newPage();
  await signIn(laptop, true, email, PASSWORD);
  await laptop.goto("/profile/details");
  await ready(laptop, true);
  await markPage(laptop);

  await page.goto("/profile/details");
  await ready(page, true);
  await page.getByLabel("First name").fill("Olivia");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByText("Your profile was saved.")).toBeVisible();

  // The other browser follows within two seconds, without a page load.
  await expect(topBarName(laptop)).toHaveText("Olivia Ray", { timeout: 2_000 });
  await expect(laptop.getByLabel("First name")).toHaveValue("Olivia");
  await expect(laptop.locator("#changed-elsewhere")).toHaveCount(0);
  await expectSamePage(laptop);

  // Signing out in another tab of that browser sends this tab to sign-in.
  const second = await laptop.context().newPage();
  await second.goto("/profile");
  await ready(second, true);
  await signOut(second);
  await expect(laptop).toHaveURL(/\/login$/, { timeout: 5_000 });
});

test("the avatar editor crops a picture the server renders, edits it again and removes it", async ({ page }) => {
  await newUser(page, "Ivy", "Cho");
  const topAvatar = page.locator(".topbar .avatar");
  await expect(topAvatar).toHaveAttribute("data-avatar", "initials");
  await expect(topAvatar).toHaveText("IC");
  await markPage(page);

  await page.getByRole("button", { name: "Edit avatar" }).click();
  const dialog = page.getByRole("dialog", { name: "Profile picture" });
  await expect(dialog).toBeVisible();
  await dialog.locator("#avatar-file").setInputFiles(QUADRANTS);

  const stage = dialog.getByRole("group", { name: /Picture position/ });
  await expect(stage).toBeVisible();
  await expect(dialog.getByRole("slider", { name: "Zoom" })).toHaveValue("1");
  // Zoom in with the keyboard until the frame shows less than a quadrant,
  // then pan to the top-right (green) corner.
  await stage.focus();
  for (let i = 0; i < 8; i++) await stage.press("+");
  expect(Number(await dialog.getByRole("slider", { name: "Zoom" }).inputValue())).toBeGreaterThan(2);
  for (let i = 0; i < 20; i++) await stage.press("ArrowLeft");
  for (let i = 0; i < 20; i++) await stage.press("ArrowDown");
  await expect(dialog.locator(".crop-preview img")).toHaveAttribute("style", /transform/);
  await dialog.getByRole("button", { name: "Update" }).click();

  await expect(dialog).toBeHidden();
  await expect(topAvatar).toHaveAttribute("data-avatar", "picture");
  const src = await topAvatar.getAttribute("src");
  expect(src).toMatch(/^\/avatars\/[0-9a-f]{32}\/128$/);
  const pixel = await centrePixel(page, src!);
  expect(pixel.width).toBe(128);
  expect(pixel.height).toBe(128);
  expect(pixel.g).toBeGreaterThan(200);
  expect(pixel.r).toBeLessThan(60);
  expect(pixel.b).toBeLessThan(60);
  const served = await page.request.get(src!);
  expect(served.headers()["cache-control"]).toBe("public, max-age=31536000, immutable");
  // The Dashboard's large avatar shows the same picture.
  await expect(page.locator(".identity .avatar")).toHaveAttribute("src", src!.replace(/128$/, "512"));
  await expectSamePage(page);

  // Edit reopens the editor on the original with the last crop.
  await page.getByRole("button", { name: "Edit avatar" }).click();
  await dialog.getByRole("button", { name: "Edit current picture" }).click();
  await expect(stage).toBeVisible();
  const natural = await dialog
    .locator(".crop-stage img")
    .evaluate(async (img: HTMLImageElement) => (await img.decode(), img.naturalWidth));
  expect(natural).toBe(400);
  await expect
    .poll(async () => Number(await dialog.getByRole("slider", { name: "Zoom" }).inputValue()))
    .toBeGreaterThan(2);
  // Turning it a half and updating gives a new URL.
  await stage.press("r");
  await stage.press("r");
  await dialog.getByRole("button", { name: "Update" }).click();
  await expect(dialog).toBeHidden();
  await expect(topAvatar).not.toHaveAttribute("src", src!);

  // Remove returns to the initials.
  await page.getByRole("button", { name: "Edit avatar" }).click();
  await dialog.getByRole("button", { name: "Remove picture" }).click();
  await expect(dialog).toBeHidden();
  await expect(topAvatar).toHaveAttribute("data-avatar", "initials");
  await expect(page.getByRole("status").filter({ hasText: "initials show instead" })).toBeVisible();
  await expectSamePage(page);
});

test("a file that is not a picture is refused with a reason, and initials can get a colour", async ({ page }) => {
  await newUser(page, "Max", "Ode");
  await page.getByRole("button", { name: "Edit avatar" }).click();
  const dialog = page.getByRole("dialog", { name: "Profile picture" });
  await dialog.locator("#avatar-file").setInputFiles({
    name: "holiday.png",
    mimeType: "image/png",
    buffer: Buffer.from("this is text, not a picture"),
  });
  await expect(dialog.getByRole("alert")).toContainText("could not be read as a picture");

  await dialog.getByRole("radio", { name: "Teal" }).check();
  await dialog.getByRole("button", { name: "Use initials" }).click();
  await expect(dialog).toBeHidden();
  await expect(page.locator(".topbar .avatar")).toHaveClass(/avatar-color-teal/);
});
