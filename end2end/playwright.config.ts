import { defineConfig } from "@playwright/test";
import * as fs from "node:fs";
import * as path from "node:path";

// One server for the whole run, built beforehand by scripts/test.sh
// (`cargo leptos build`), on a fresh SQLite file and mail outbox.
const port = Number(process.env.E2E_PORT ?? 3100);
export const baseURL = `http://127.0.0.1:${port}`;
const root = path.resolve(__dirname, "..");
const server = path.join(root, "target", "debug", "server");
export const runDir = path.join(root, "target", "e2e");
export const outboxDir = path.join(runDir, "outbox");
// ConnectivityPro, the sister platform that signs in through Atrium.
const cpPort = Number(process.env.E2E_CP_PORT ?? 4100);
export const cpURL = `http://127.0.0.1:${cpPort}`;
const cpCredentials = path.join(runDir, "connectivitypro.json");

// A fresh run folder, made once, before the servers start. This file is
// loaded again by the test files (for outboxDir) and by workers, which must
// not wipe the servers' data under them: the variable marks it done, for
// this process and every process it starts.
if (!process.env.ATRIUM_E2E_RUN_DIR_READY) {
  fs.rmSync(runDir, { recursive: true, force: true });
  fs.mkdirSync(runDir, { recursive: true });
  process.env.ATRIUM_E2E_RUN_DIR_READY = "1";
}

export default defineConfig({
  testDir: "./tests",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  reporter: [["list"]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  projects: [
    { name: "hydrated", use: { javaScriptEnabled: true } },
    // Forms must work before hydration and without JavaScript at all.
    { name: "no-js", use: { javaScriptEnabled: false }, testMatch: /(auth|security|authenticator)\.spec\.ts/ },
  ],
  webServer: [
  {
    // ConnectivityPro is registered first (its credentials go to a file
    // that its own server waits for), then Atrium serves.
    command: [
      `"${server}" platform add --name ConnectivityPro --redirect-uri ${cpURL}/callback`,
      `--post-logout-redirect-uri ${cpURL}/ --backchannel-logout-uri ${cpURL}/backchannel-logout`,
      `--webhook-url ${cpURL}/webhooks`,
      `> "${cpCredentials}.tmp" && mv "${cpCredentials}.tmp" "${cpCredentials}" && exec "${server}"`,
    ].join(" "),
    url: `${baseURL}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "ignore",
    stderr: "pipe",
    env: {
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      LEPTOS_SITE_ROOT: path.join(root, "target", "site"),
      PUBLIC_URL: baseURL,
      DATABASE_URL: `sqlite://${path.join(runDir, "atrium.db")}`,
      MAIL_OUTBOX_DIR: outboxDir,
      SMS_OUTBOX_DIR: path.join(runDir, "sms"),
      SECRET_KEY_FILE: path.join(runDir, "secret.key"),
      PASSWORD_HASHING: "insecure-minimal",
      LOG_LEVEL: "warn",
      // Every spec's people sign up from 127.0.0.1.
      SIGN_UPS_PER_HOUR: "100000",
    },
  },
  {
    command: `exec "${path.join(root, "target", "debug", "connectivitypro")}"`,
    url: `${cpURL}/healthz`,
    reuseExistingServer: false,
    timeout: 90_000,
    stdout: "ignore",
    stderr: "pipe",
    env: {
      CP_ADDR: `127.0.0.1:${cpPort}`,
      ATRIUM_URL: baseURL,
      CP_CREDENTIALS: cpCredentials,
      CP_DATABASE: path.join(runDir, "connectivitypro.db"),
    },
  },
  ],
});
