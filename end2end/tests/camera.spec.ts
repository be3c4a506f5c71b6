import { expect, test } from "@playwright/test";
import { ready, signUp, uniqueEmail } from "./helpers";

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
