import { expect, type Locator, type Page } from "@playwright/test";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { outboxDir, runDir } from "../playwright.config";

/** A fresh address per test, so tests never share an account. */
export function uniqueEmail(prefix = "ann"): string {
  return `${prefix}.${Date.now()}.${Math.floor(Math.random() * 1e6)}@example.org`;
}

/** Waits until the page is interactive: hydrated when JavaScript runs, loaded otherwise. */
export async function ready(page: Page, javaScriptEnabled: boolean): Promise<void> {
  if (javaScriptEnabled) {
    await expect(page.locator("body[data-hydrated]")).toHaveCount(1);
  } else {
    await page.waitForLoadState("load");
  }
}

function decodeQuotedPrintable(s: string): string {
  const joined = s.replace(/=\r?\n/g, "");
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    if (joined[i] === "=" && /^[0-9A-F]{2}$/i.test(joined.slice(i + 1, i + 3))) {
      bytes.push(parseInt(joined.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(joined[i], "utf8"));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/** The decoded text/plain part of a raw .eml message. */
export function plainText(eml: string): string {
  const parts = eml.split(/\r?\n--[^\r\n]+\r?\n/);
  for (const part of parts) {
    const [head, ...rest] = part.split(/\r?\n\r?\n/);
    if (!/content-type:\s*text\/plain/i.test(head)) continue;
    const body = rest.join("\n\n").replace(/\r?\n--[^\r\n]*--\s*$/, "");
    const encoding = /content-transfer-encoding:\s*([\w-]+)/i.exec(head)?.[1].toLowerCase();
    if (encoding === "base64") return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
    if (encoding === "quoted-printable") return decodeQuotedPrintable(body);
    return body;
  }
  throw new Error("no text/plain part in message");
}

/** Messages in the outbox addressed to `to`, oldest first. */
export function mailsTo(to: string): { subject: string; text: string }[] {
  if (!fs.existsSync(outboxDir)) return [];
  return fs
    .readdirSync(outboxDir)
    .filter((f) => f.endsWith(".eml"))
    .map((f) => path.join(outboxDir, f))
    .sort((a, b) => fs.statSync(a).mtimeMs - fs.statSync(b).mtimeMs)
    // A message appears whole (written to a hidden .part file, then renamed).
    .map((f) => fs.readFileSync(f, "utf8"))
    .filter((eml) => new RegExp(`^To: .*${to.replace(/[.+]/g, "\\$&")}`, "mi").test(eml))
    .map((eml) => ({
      subject: /^Subject: (.*)$/m.exec(eml)?.[1] ?? "",
      text: plainText(eml),
    }));
}

const seenLinks = new Set<string>();

/**
 * The one link matching `pattern` mailed to `to` that no earlier call returned.
 * Outbox files have random names and may share a timestamp, so "newest" means
 * "not seen before".
 */
async function newLink(to: string, pattern: RegExp): Promise<string> {
  let fresh: string[] = [];
  await expect
    .poll(() => {
      fresh = [
        ...new Set(
          mailsTo(to)
            .map((m) => pattern.exec(m.text)?.[0])
            .filter((l): l is string => !!l && !seenLinks.has(l))
        ),
      ];
      return fresh.length;
    })
    .toBe(1);
  seenLinks.add(fresh[0]);
  return fresh[0];
}

/** The new verification link mailed to `to`. */
export function verificationLink(to: string): Promise<string> {
  return newLink(to, /https?:\/\/\S+\/verify-email\?token=[\w-]+/);
}

/**
 * Opens a confirmation link from a mail and presses its button: opening the
 * link alone (as a mail scanner does) confirms nothing.
 */
export async function pressMailLink(page: Page, js: boolean, link: string, button: string): Promise<void> {
  await page.goto(link);
  await ready(page, js);
  await page.getByRole("button", { name: button }).click();
}

/** The new password reset link mailed to `to`. */
export function resetLink(to: string): Promise<string> {
  return newLink(to, /https?:\/\/\S+\/reset-password\?token=[\w-]+/);
}

export async function signUp(
  page: Page,
  js: boolean,
  who: { first: string; last: string; email: string; password: string; phone?: string }
) {
  await page.goto("/signup");
  await ready(page, js);
  await page.getByLabel("First name").fill(who.first);
  await page.getByLabel("Last name").fill(who.last);
  await page.getByLabel("Email").fill(who.email);
  if (who.phone) await page.getByLabel("Phone (optional)").fill(who.phone);
  await page.getByLabel("Password", { exact: true }).fill(who.password);
  await page.getByRole("button", { name: "Create account" }).click();
}

/** The first step of sign-in: email and password. */
export async function submitPassword(page: Page, js: boolean, email: string, password: string) {
  await page.goto("/login");
  await ready(page, js);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

const seenCodes = new Set<string>();

/** The code of the one sign-in code mail to `to` not read before. */
export async function signInCode(to: string): Promise<string> {
  let fresh: { text: string }[] = [];
  await expect
    .poll(() => {
      fresh = mailsTo(to).filter((m) => m.subject.includes("your sign-in code") && !seenCodes.has(m.text));
      return fresh.length;
    })
    .toBe(1);
  seenCodes.add(fresh[0].text);
  return /\b(\d{6})\b/.exec(fresh[0].text)![1];
}

/** The whole sign-in: password, then the code from the mail. */
export async function signIn(page: Page, js: boolean, email: string, password: string) {
  await submitPassword(page, js, email, password);
  await expect(page).toHaveURL(/\/login\/verify$/);
  await ready(page, js);
  await page.getByLabel("Sign-in code").fill(await signInCode(email));
  await page.getByRole("button", { name: "Verify and sign in" }).click();
  await expect(page).toHaveURL(/\/profile$/);
}

export async function signOut(page: Page, javaScriptEnabled = true) {
  const consoleDocument = await documentStart(page);
  await page.getByRole("banner").getByRole("button", { name: /^Account menu for / }).click();
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await newDocument(page, consoleDocument, javaScriptEnabled);
}

/** When the page's document started loading: another value, another document. */
export async function documentStart(page: Page): Promise<number> {
  return page.evaluate(() => performance.timeOrigin);
}

/**
 * Waits for a document other than the one that started at `before` (a full
 * page load, as the console's way to a sign-in page is) and for it to be
 * ready: a check of `data-hydrated` alone could still see the old document.
 */
export async function newDocument(page: Page, before: number, javaScriptEnabled = true): Promise<void> {
  // Read while the old document is leaving, the evaluation can fail: that is not yet the new one.
  await expect.poll(() => documentStart(page).catch(() => before)).not.toBe(before);
  await ready(page, javaScriptEnabled);
}

/** The 6-digit code of the newest text message to `e164` (E.164, no spaces). */
export async function textedCode(e164: string, after = 0): Promise<string> {
  const dir = path.join(runDir, "sms");
  let texts: string[] = [];
  await expect
    .poll(() => {
      texts = fs.existsSync(dir)
        ? fs
            .readdirSync(dir)
            .filter((f) => f.endsWith(".txt"))
            .sort()
            .map((f) => fs.readFileSync(path.join(dir, f), "utf8"))
            .filter((t) => t.startsWith(`To: ${e164}\n`))
        : [];
      return texts.length;
    })
    .toBeGreaterThan(after);
  const body = texts[texts.length - 1].split("\n\n")[1];
  return /\b(\d{6})\b/.exec(body)![1];
}

const root = path.resolve(__dirname, "..", "..");

/**
 * Gives `email` the Support role the only way there is: the server binary's
 * command, run against the end-to-end database (and key file) while the
 * server uses it.
 */
export function grantSupport(email: string) {
  execFileSync(path.join(root, "target", "debug", "server"), ["grant-support", email], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: `sqlite://${path.join(runDir, "atrium.db")}`,
      MAIL_OUTBOX_DIR: outboxDir,
      SMS_OUTBOX_DIR: path.join(runDir, "sms"),
      SECRET_KEY_FILE: path.join(runDir, "secret.key"),
      LOG_LEVEL: "warn",
    },
    stdio: "pipe",
  });
}

// Keyboard alone: what someone without a mouse does.

/**
 * Presses Tab until `target` has the focus, as someone without a mouse
 * would; fails when it is not reachable within `max` presses.
 */
export async function tabTo(page: Page, target: Locator, max = 80) {
  for (let i = 0; i < max; i++) {
    if (await target.evaluate((el) => el === document.activeElement).catch(() => false)) return;
    await page.keyboard.press("Tab");
  }
  throw new Error(`not reachable with the Tab key: ${target}`);
}

export async function typeInto(page: Page, field: Locator, text: string) {
  await tabTo(page, field);
  await page.keyboard.press("Control+A");
  await page.keyboard.type(text);
}

export async function pressButton(page: Page, button: Locator) {
  await tabTo(page, button);
  await page.keyboard.press("Enter");
}

/** On the sign-in page: email, password, Enter; then the mailed code, Enter. */
export async function signInByKeyboard(page: Page, email: string, password: string) {
  await typeInto(page, page.getByLabel("Email"), email);
  await typeInto(page, page.getByLabel("Password"), password);
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/login\/verify$/);
  await ready(page, true);
  await typeInto(page, page.getByLabel("Sign-in code"), await signInCode(email));
  await page.keyboard.press("Enter");
}
