import { expect, test, type Page } from "@playwright/test";
import { ready, signUp, uniqueEmail } from "./helpers";

const PASSWORD = "violet tractor mango 42";

// A 600 × 400 picture stored with a colour per quadrant; each EXIF
// orientation (1 to 8) says how to turn or mirror it for viewing. Upright,
// the top-left corner shows the stored quadrant named here (how phones
// store portrait photos is orientation 6).
const STORED = { tl: [230, 20, 20], tr: [20, 200, 20], bl: [20, 20, 230], br: [230, 230, 20] };
const UPRIGHT_TOP_LEFT: Record<number, keyof typeof STORED> = {
  1: "tl", // as stored
  2: "tr", // mirrored left to right
  3: "br", // turned 180°
  4: "bl", // mirrored top to bottom
  5: "tl", // transposed
  6: "bl", // turned 90° clockwise
  7: "br", // transversed
  8: "tr", // turned 90° anticlockwise
};

/** The stored picture as a JPEG from the browser's canvas. */
async function storedJpeg(page: Page): Promise<Buffer> {
  const b64 = await page.evaluate((q) => {
    const canvas = document.createElement("canvas");
    canvas.width = 600;
    canvas.height = 400;
    const ctx = canvas.getContext("2d")!;
    const fill = (c: number[], x: number, y: number) => {
      ctx.fillStyle = `rgb(${c[0]},${c[1]},${c[2]})`;
      ctx.fillRect(x, y, 300, 200);
    };
    fill(q.tl, 0, 0);
    fill(q.tr, 300, 0);
    fill(q.bl, 0, 200);
    fill(q.br, 300, 200);
    return canvas.toDataURL("image/jpeg", 0.95).split(",")[1];
  }, STORED);
  return Buffer.from(b64, "base64");
}

/** `jpeg` with an EXIF segment (APP1) carrying `orientation`, right after SOI. */
function withOrientation(jpeg: Buffer, orientation: number): Buffer {
  const tiff = Buffer.from([
    0x4d, 0x4d, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x08, // big-endian TIFF header, IFD at 8
    0x00, 0x01, // one entry
    0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, // Orientation, SHORT, count 1
    0x00, orientation, 0x00, 0x00, // the value, padded
    0x00, 0x00, 0x00, 0x00, // no next IFD
  ]);
  const body = Buffer.concat([Buffer.from("Exif\0\0", "latin1"), tiff]);
  const length = Buffer.from([(body.length + 2) >> 8, (body.length + 2) & 0xff]);
  return Buffer.concat([jpeg.subarray(0, 2), Buffer.from([0xff, 0xe1]), length, body, jpeg.subarray(2)]);
}

/** The colour near the top-left corner of an image URL. */
async function topLeftColour(page: Page, url: string): Promise<number[]> {
  return page.evaluate(async (src) => {
    const img = new Image();
    img.src = src;
    await img.decode();
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const ctx = canvas.getContext("2d")!;
    ctx.drawImage(img, 0, 0);
    return Array.from(ctx.getImageData(10, 10, 1, 1).data.slice(0, 3));
  }, url);
}

test("a photo in any of the eight EXIF orientations opens upright and becomes the avatar as seen", async ({ page }) => {
  test.setTimeout(120_000);
  await signUp(page, true, { first: "Pia", last: "Roth", email: uniqueEmail("pia"), password: PASSWORD });
  await expect(page).toHaveURL(/\/profile$/);
  await ready(page, true);
  const stored = await storedJpeg(page);
  const topAvatar = page.locator(".topbar .avatar");
  const dialog = page.getByRole("dialog", { name: "Profile picture" });

  for (let orientation = 1; orientation <= 8; orientation++) {
    const before = await topAvatar.getAttribute("src");
    await page.getByRole("button", { name: "Edit avatar" }).click();
    await expect(dialog).toBeVisible();
    await dialog.locator("#avatar-file").setInputFiles({
      name: `photo-${orientation}.jpg`,
      mimeType: "image/jpeg",
      buffer: withOrientation(stored, orientation),
    });
    // The editor shows the picture upright: sideways orientations are portrait.
    const shown = dialog.locator(".crop-stage img");
    const size = await shown.evaluate(async (img: HTMLImageElement) => (await img.decode(), [img.naturalWidth, img.naturalHeight]));
    expect(size, `orientation ${orientation}`).toEqual(orientation >= 5 ? [400, 600] : [600, 400]);
    // The default crop (the largest centred square) is accepted as it is.
    await dialog.getByRole("button", { name: "Update" }).click();
    await expect(dialog, `orientation ${orientation}`).toBeHidden();
    await expect(topAvatar).not.toHaveAttribute("src", before ?? "");
    const src = (await topAvatar.getAttribute("src"))!;
    const colour = await topLeftColour(page, src);
    const want = STORED[UPRIGHT_TOP_LEFT[orientation]];
    for (let c = 0; c < 3; c++) {
      expect(Math.abs(colour[c] - want[c]), `orientation ${orientation}: ${colour} against ${want}`).toBeLessThan(50);
    }
  }
});
