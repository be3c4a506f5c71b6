import { expect, test } from "@playwright/test";
import { pressButton, ready, signUp, uniqueEmail } from "./helpers";

// Chromium's fake camera (a moving test pattern) and an automatic "allow".
test.use({
  launchOptions: {
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"],
  },
});

test("a photo from the camera becomes the avatar", async ({ page }) => {
  await signUp(page, true, { first: "Cam", last: "Era", email: uniqueEmail("cam"), password: "violet tractor mango 42" });
  await expect(page).toHaveURL(/\/profile$/);
  await ready(page, true);
  await page.getByRole("button", { name: "Edit avatar" }).click();
  const dialog = page.getByRole("dialog", { name: "Profile picture" });
  await dialog.getByRole("button", { name: "Take a photo" }).click();
  const preview = dialog.getByLabel("Camera preview");
  await expect(preview).toBeVisible();
  await expect.poll(() => preview.evaluate((v: HTMLVideoElement) => v.videoWidth)).toBeGreaterThan(0);
  await expect(dialog.getByRole("button", { name: "Capture photo" })).toBeFocused();
  await dialog.getByRole("button", { name: "Capture photo" }).click();
  await expect(dialog.getByRole("group", { name: /Picture position/ })).toBeFocused();
  await dialog.getByRole("button", { name: "Update" }).click();
  await expect(dialog).toBeHidden();
  await expect(page.locator(".topbar .avatar")).toHaveAttribute("data-avatar", "picture");
  // The camera is released once the dialog is closed.
  expect(await page.locator("video.camera").evaluate((v: HTMLVideoElement) => v.srcObject === null || (v.srcObject as MediaStream).getTracks().every((t) => t.readyState === "ended"))).toBe(true);
});

test("the camera flow works with the keyboard alone", async ({ page }) => {
  await signUp(page, true, { first: "Kam", last: "Keys", email: uniqueEmail("kam"), password: "violet tractor mango 42" });
  await expect(page).toHaveURL(/\/profile$/);
  await ready(page, true);
  const editAvatar = page.getByRole("button", { name: "Edit avatar" });
  await pressButton(page, editAvatar);
  const dialog = page.getByRole("dialog", { name: "Profile picture" });
  await expect(dialog).toBeVisible();
  await pressButton(page, dialog.getByRole("button", { name: "Take a photo" }));
  const preview = dialog.getByLabel("Camera preview");
  await expect.poll(() => preview.evaluate((v: HTMLVideoElement) => v.videoWidth)).toBeGreaterThan(0);
  // The focus moves to the capture button by itself: Enter takes the photo.
  const capture = dialog.getByRole("button", { name: "Capture photo" });
  await expect(capture).toBeFocused();
  await page.keyboard.press("Enter");
  // Then to the crop frame, which the arrow keys and + move and zoom.
  const stage = dialog.getByRole("group", { name: /Picture position/ });
  await expect(stage).toBeFocused();
  const zoom = dialog.getByRole("slider", { name: "Zoom" });
  for (let i = 0; i < 3; i++) await page.keyboard.press("+");
  await page.keyboard.press("ArrowRight");
  expect(Number(await zoom.inputValue())).toBeGreaterThan(1);
  await pressButton(page, dialog.getByRole("button", { name: "Update" }));
  await expect(dialog).toBeHidden();
  await expect(page.locator(".topbar .avatar")).toHaveAttribute("data-avatar", "picture");
  await expect(editAvatar).toBeFocused();

  // Taking a photo can be abandoned by keyboard too: Escape closes the
  // camera with the dialog and the focus goes back.
  await pressButton(page, editAvatar);
  await pressButton(page, dialog.getByRole("button", { name: "Take a photo" }));
  await expect(dialog.getByRole("button", { name: "Capture photo" })).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(editAvatar).toBeFocused();
  expect(await page.locator("video.camera").evaluate((v: HTMLVideoElement) => v.srcObject === null || (v.srcObject as MediaStream).getTracks().every((t) => t.readyState === "ended"))).toBe(true);
});
