import { expect, test } from "@playwright/test";
import { documentStart, newDocument, ready, signOut, signUp, uniqueEmail } from "./helpers";

test("the password meter answers while typing", async ({ page }) => {
  await page.goto("/signup");
  await ready(page, true);
  const password = page.getByLabel("Password", { exact: true });
  await password.pressSequentially("password");
  await expect(page.getByText(/Strength: Very weak/)).toBeVisible();
  await expect(page.getByText(/breached passwords/)).toBeVisible();
  await password.fill("");
  await password.pressSequentially("violet tractor mango 42");
  await expect(page.getByText(/Strength: (Strong|Very strong)/)).toBeVisible();
});

test("installable: manifest, icons and a service worker", async ({ page, request }) => {
  const manifest = await (await request.get("/manifest.webmanifest")).json();
  expect(manifest.display).toBe("standalone");
  expect(manifest.start_url).toBe("/profile");
  expect(manifest.icons.map((i: { sizes: string }) => i.sizes)).toEqual(["192x192", "512x512"]);
  for (const icon of manifest.icons) {
    expect((await request.get(icon.src)).headers()["content-type"]).toBe("image/png");
  }
  await signUp(page, true, { first: "Pia", last: "Wu", email: uniqueEmail("pia"), password: "violet tractor mango 42" });
  await expect(page).toHaveURL(/\/profile$/);
  await ready(page, true);
  await expect(page.locator('link[rel="manifest"]')).toHaveAttribute("href", "/manifest.webmanifest");
  const registered = await page.evaluate(async () => {
    const reg = await navigator.serviceWorker.ready;
    return reg.active?.scriptURL ?? "";
  });
  expect(registered).toMatch(/\/sw\.js$/);
  // The worker precached this build's bundle under its content-hashed name,
  // in a cache named after the build.
  const wasm = await page.evaluate(() =>
    (performance.getEntriesByType("resource") as PerformanceResourceTiming[])
      .map((e) => new URL(e.name).pathname)
      .find((p) => /^\/pkg\/atrium\.[A-Za-z0-9_-]{22}\.wasm$/.test(p)) ?? ""
  );
  expect(wasm).not.toBe("");
  const cached = await page.evaluate(async () => {
    const keys = await caches.keys();
    const urls: string[] = [];
    for (const k of keys) {
      for (const r of await (await caches.open(k)).keys()) urls.push(`${k} ${new URL(r.url).pathname}`);
    }
    return urls;
  });
  expect(cached).toContainEqual(expect.stringMatching(new RegExp(`^atrium-shell-[0-9a-f]{16} ${wasm.replace(/\./g, "\\.")}$`)));
});

test("bundle files are immutable under hashed names; pages are not cached", async ({ page, request }) => {
  const response = await page.goto("/login");
  expect(response!.headers()["cache-control"]).toBe("no-store");
  // Once hydrated, the page has fetched its script, WASM and stylesheet (at
  // the load event the WASM may still be on its way).
  await ready(page, true);
  const assets = await page.evaluate(() =>
    (performance.getEntriesByType("resource") as PerformanceResourceTiming[])
      .map((e) => new URL(e.name).pathname)
      .filter((p) => p.startsWith("/pkg/"))
  );
  expect(assets.length).toBeGreaterThanOrEqual(2);
  for (const path of assets) {
    expect(path).toMatch(/\.[A-Za-z0-9_-]{22}\.(js|wasm|css)$/);
    const res = await request.get(path, { headers: { "accept-encoding": "br, gzip" } });
    expect(res.status()).toBe(200);
    expect(res.headers()["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(res.headers()["vary"]).toMatch(/accept-encoding/i);
  }
  const sw = await request.get("/sw.js");
  expect(sw.headers()["cache-control"]).toBe("no-cache");
  expect(await sw.text()).not.toContain("__ATRIUM_ASSETS__");
});

test("security headers and no inline script without the nonce", async ({ page }) => {
  const response = await page.goto("/login");
  const headers = response!.headers();
  const csp = headers["content-security-policy"];
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toContain("unsafe-inline");
  const nonce = /'nonce-([^']+)'/.exec(csp)![1];
  expect(headers["x-content-type-options"]).toBe("nosniff");
  expect(headers["referrer-policy"]).toBe("same-origin");
  expect(headers["cross-origin-opener-policy"]).toBe("same-origin");
  const inlineScripts = await page.locator("script:not([src])").evaluateAll((els) =>
    els.map((e) => (e as HTMLScriptElement).nonce)
  );
  expect(inlineScripts.length).toBeGreaterThan(0);
  for (const n of inlineScripts) expect(n).toBe(nonce);
  // It still hydrates under that policy.
  await ready(page, true);
});

test("account and support pages are separate WASM chunks, fetched when first opened", async ({ page }) => {
  const chunks: string[] = [];
  page.on("request", (r) => {
    const name = new URL(r.url()).pathname;
    if (/^\/pkg\/split_.*\.wasm$/.test(name)) chunks.push(name);
  });
  await signUp(page, true, { first: "Cho", last: "Chunk", email: uniqueEmail("cho"), password: "violet tractor mango 42" });
  await expect(page).toHaveURL(/\/profile$/);
  await ready(page, true);
  expect(chunks.filter((c) => /accounts?_route|support_/.test(c))).toEqual([]);

  await page.getByRole("banner").getByRole("button", { name: /^Account menu for / }).click();
  await page.getByRole("link", { name: "Accounts", exact: true }).click();
  await expect(page).toHaveURL(/\/accounts$/);
  await expect(page.getByRole("button", { name: "Create account" })).toBeVisible();
  expect(chunks.some((c) => c.includes("split___accounts_route_view"))).toBe(true);
  expect(chunks.some((c) => c.includes("support_"))).toBe(false);
});

test("the avatar dialog's code is fetched only when Edit avatar is pressed", async ({ page }) => {
  const chunks: string[] = [];
  page.on("request", (r) => {
    const name = new URL(r.url()).pathname;
    if (/^\/pkg\/split_.*\.wasm$/.test(name)) chunks.push(name);
  });
  await signUp(page, true, { first: "Ada", last: "Lazy", email: uniqueEmail("ada"), password: "violet tractor mango 42" });
  await expect(page).toHaveURL(/\/profile$/);
  await ready(page, true);
  // The Dashboard is in the main module; the dialog is not loaded with it.
  expect(chunks.filter((c) => c.includes("avatar_dialog"))).toEqual([]);
  await page.getByRole("button", { name: "Edit avatar" }).click();
  await expect(page.getByRole("dialog", { name: "Profile picture" })).toBeVisible();
  expect(chunks.filter((c) => c.includes("avatar_dialog")).length).toBe(1);
});

test("sign-in pages load their own small bundle; the console comes with a full page load", async ({ page }) => {
  const wasm: string[] = [];
  page.on("request", (r) => {
    const name = new URL(r.url()).pathname;
    if (name.endsWith(".wasm")) wasm.push(name);
  });
  await page.goto("/login");
  await ready(page, true);
  expect(wasm).toHaveLength(1);
  expect(wasm[0]).toMatch(/^\/pkg\/atrium-signin\.[A-Za-z0-9_-]{22}\.wasm$/);

  // The sign-in bundle has no router: another sign-in page is a new
  // document, hydrated by the same module (no other WASM is asked for).
  const loginDocument = await documentStart(page);
  await page.getByRole("link", { name: "Create an account" }).click();
  await expect(page).toHaveURL(/\/signup$/);
  await newDocument(page, loginDocument);
  await expect(page.getByRole("button", { name: "Create account" })).toBeVisible();
  const documentBefore = await documentStart(page);
  expect(new Set(wasm)).toEqual(new Set([wasm[0]]));

  // Signing up redirects to the console: a new document, with the console's
  // main module, which holds the Dashboard (no chunk of another page).
  await page.getByLabel("First name").fill("Sol");
  await page.getByLabel("Last name").fill("Split");
  await page.getByLabel("Email").fill(uniqueEmail("sol"));
  await page.getByLabel("Password", { exact: true }).fill("violet tractor mango 42");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/profile$/);
  await newDocument(page, documentBefore);
  expect(wasm.some((w) => /^\/pkg\/atrium\.[A-Za-z0-9_-]{22}\.wasm$/.test(w))).toBe(true);
  expect(wasm.filter((w) => /_route_view|avatar_dialog/.test(w))).toEqual([]);

  // The console holds no sign-in page: signing out there (a redirect the
  // console's router follows) loads /login as a new document, which runs
  // the sign-in bundle again and nothing of the console.
  await signOut(page);
  await expect(page.getByRole("button", { name: "Sign in" })).toBeVisible();
  const modules = await page.evaluate(() =>
    (performance.getEntriesByType("resource") as PerformanceResourceTiming[])
      .map((e) => new URL(e.name).pathname)
      .filter((p) => p.endsWith(".wasm"))
  );
  expect(modules).toEqual([wasm[0]]);
});
