// Bytes transferred on a first visit (empty cache), read from Chromium's
// resource timing, for each URL given: node transfer.mjs BASE_URL COOKIE PATH...
// A path prefixed with "+" is loaded with the session cookie.
// Prints one JSON object per path.
import { chromium } from "playwright-core";

const [base, cookie, ...paths] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROME_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
for (const spec of paths) {
  const signedIn = spec.startsWith("+");
  const path = signedIn ? spec.slice(1) : spec;
  const context = await browser.newContext({ serviceWorkers: "block" });
  if (signedIn) {
    const [name, value] = cookie.split("=");
    await context.addCookies([{ name, value, url: base }]);
  }
  const page = await context.newPage();
  const encodings = {};
  page.on("response", (r) => {
    encodings[new URL(r.url()).pathname] = r.headers()["content-encoding"] ?? "identity";
  });
  await page.goto(base + path);
  await page.locator("body[data-hydrated]").waitFor({ state: "attached", timeout: 30_000 });
  const entries = await page.evaluate(() =>
    [...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")].map((e) => ({
      path: new URL(e.name).pathname,
      transfer: e.transferSize,
      encoded: e.encodedBodySize,
      decoded: e.decodedBodySize,
    }))
  );
  const sum = (pred, key) => entries.filter(pred).reduce((n, e) => n + e[key], 0);
  const code = (e) => /\.(wasm|js)$/.test(e.path);
  console.log(JSON.stringify({
    path,
    signedIn,
    transferred: sum(() => true, "transfer"),
    wasmJsTransferred: sum(code, "transfer"),
    wasmJsEncoded: sum(code, "encoded"),
    wasmJsDecoded: sum(code, "decoded"),
    files: entries.map((e) => ({ ...e, encoding: encodings[e.path] ?? "?" })),
  }));
  await context.close();
}
await browser.close();
