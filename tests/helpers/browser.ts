/**
 * @module
 * Headless Chromium for browser tests: Debian's `/usr/bin/chromium` driven by
 * `playwright-core` from `tools/node_modules` (which never downloads a browser), with a
 * new empty profile directory, no background networking and no first-run work.
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/** The part of playwright's `Locator` the tests use (its own types need the DOM lib). */
export interface Locator {
  click(): Promise<void>;
  fill(value: string): Promise<void>;
  press(key: string): Promise<void>;
  focus(): Promise<void>;
  textContent(): Promise<string | null>;
  innerText(): Promise<string>;
  allInnerTexts(): Promise<string[]>;
  getAttribute(name: string): Promise<string | null>;
  isVisible(): Promise<boolean>;
  count(): Promise<number>;
  first(): Locator;
  nth(index: number): Locator;
  locator(selector: string): Locator;
  getByRole(role: string, options?: { name?: string | RegExp; exact?: boolean }): Locator;
  waitFor(options?: { state?: "attached" | "detached" | "visible" | "hidden" }): Promise<void>;
}

/** The part of playwright's `Page` the tests use. */
export interface Page {
  goto(url: string): Promise<{ status(): number } | null>;
  locator(selector: string): Locator;
  getByRole(role: string, options?: { name?: string | RegExp; exact?: boolean }): Locator;
  getByLabel(text: string | RegExp): Locator;
  url(): string;
  title(): Promise<string>;
  content(): Promise<string>;
  screenshot(options: { path?: string; fullPage?: boolean }): Promise<Uint8Array>;
  /** Evaluates a JavaScript expression in the page (a string: the tests have no DOM types). */
  evaluate<T>(expression: string): Promise<T>;
  keyboard: { press(key: string): Promise<void> };
  waitForURL(url: string | RegExp): Promise<void>;
  setViewportSize(size: { width: number; height: number }): Promise<void>;
  on(event: "pageerror", listener: (error: Error) => void): void;
  on(event: "console", listener: (message: { type(): string; text(): string }) => void): void;
  close(): Promise<void>;
}

/** A cookie as the browser holds it. */
export interface Cookie {
  name: string;
  value: string;
  path: string;
  httpOnly: boolean;
  secure: boolean;
  sameSite: "Strict" | "Lax" | "None";
}

/** The part of playwright's `BrowserContext` the tests use. */
export interface BrowserContext {
  newPage(): Promise<Page>;
  grantPermissions(permissions: string[], options?: { origin?: string }): Promise<void>;
  cookies(urls?: string | string[]): Promise<Cookie[]>;
  clearCookies(): Promise<void>;
  close(): Promise<void>;
}

interface Playwright {
  chromium: {
    launchPersistentContext(dir: string, options: Record<string, unknown>): Promise<BrowserContext>;
  };
}

const MODULE = fileURLToPath(new URL("../../tools/node_modules/playwright-core", import.meta.url));
/** Where Debian's `chromium` package puts the browser. */
export const CHROMIUM = "/usr/bin/chromium";

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-quic",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
];

/** A running browser with its own profile. */
export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Launches Chromium with a fresh profile; `close` also removes the profile. */
export async function launchBrowser(
  options: { viewport?: { width: number; height: number }; javaScript?: boolean } = {},
): Promise<Browser> {
  const { chromium } = createRequire(import.meta.url)(MODULE) as Playwright;
  const profile = await Deno.makeTempDir({ prefix: "berth-chromium-" });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: options.viewport ?? { width: 1280, height: 900 },
    javaScriptEnabled: options.javaScript ?? true,
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => {});
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}
