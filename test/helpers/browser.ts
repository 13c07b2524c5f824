import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

/** Debian's Chromium (`.ci/run` installs it): `npx playwright install` cannot download here. */
const EXECUTABLE = process.env.WHARF_CHROMIUM ?? "/usr/bin/chromium";
/** Where the screenshots the README shows are written. */
export const SCREENSHOTS = resolve(import.meta.dirname, "..", "..", "docs", "screenshots");

/**
 * Headless Chromium with nothing of its own going to the network (this machine's network is closed:
 * without these flags it retries Google's hosts at every start).
 */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: EXECUTABLE,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
}

export interface PageOptions {
  /** Viewport width in CSS pixels: 375 for a phone, 1280 by default. */
  width?: number;
  height?: number;
  colorScheme?: "light" | "dark";
}

/** A fresh context (own cookies) with clipboard access granted for `url`'s origin, at `url`. */
export async function openPage(
  browser: Browser,
  url: string,
  options: PageOptions = {},
): Promise<{ page: Page; context: BrowserContext }> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: options.height ?? 800 },
    colorScheme: options.colorScheme ?? "light",
  });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: new URL(url).origin });
  const page = await context.newPage();
  await page.goto(url);
  return { page, context };
}

/** What the page's clipboard holds (after a Copy button was pressed). */
export function clipboardText(page: Page): Promise<string> {
  return page.evaluate(() => navigator.clipboard.readText());
}

/** Writes docs/screenshots/NAME.png (committed; the README shows it). */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}
