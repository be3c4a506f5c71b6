import { defineConfig } from "@playwright/test";
import * as path from "node:path";

// One server for the whole run, built beforehand by scripts/test.sh
// (`cargo leptos build`), on a fresh SQLite file and mail outbox.
const port = Number(process.env.E2E_PORT ?? 3100);
export const baseURL = `http://127.0.0.1:${port}`;
const root = path.resolve(__dirname, "..");
export const runDir = path.join(root, "target", "e2e");
export const outboxDir = path.join(runDir, "outbox");

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
  webServer: {
    command: `rm -rf "${runDir}" && mkdir -p "${runDir}" && exec "${path.join(root, "target", "debug", "server")}"`,
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
      PASSWORD_HASHING: "insecure-minimal",
      LOG_LEVEL: "warn",
    },
  },
});
