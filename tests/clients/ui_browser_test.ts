/**
 * @module
 * The web UI in a real browser (Debian's Chromium, headless, driven by playwright-core):
 * open the list, search, open a multi-arch image, follow a platform, see its layers and
 * the referrers, copy a pull command, reach the search by keyboard, read it on a phone;
 * then, with JavaScript off, sign in, delete a tag and see it gone, and as another user
 * see only the repositories the policy lets them pull.
 *
 * Screenshots go to a temp directory; with `BERTH_SCREENSHOTS=1` the ones the README
 * shows go to `docs/`.
 */
import assert from "node:assert/strict";
import { basic } from "../helpers/auth.ts";
import { type Browser, launchBrowser, type Page } from "../helpers/browser.ts";
import { PASSWORDS, seededRegistry, testAuth } from "../helpers/ui_registry.ts";

/** Where screenshots go: a temp directory, and `docs/` for those the README shows. */
const SCRATCH = await Deno.makeTempDir({ prefix: "berth-screenshots-" });
const DOCS = Deno.env.get("BERTH_SCREENSHOTS") === "1"
  ? new URL("../../docs/", import.meta.url).pathname
  : SCRATCH;
globalThis.addEventListener("unload", () => Deno.removeSync(SCRATCH, { recursive: true }));
/** The screenshots kept in `docs/`. */
const IN_DOCS = new Set(["ui-repository", "ui-index", "ui-phone"]);

/** Texts of the first cells of a table's rows. */
async function firstColumn(page: Page, table: string): Promise<string[]> {
  return (await page.locator(`table[aria-label="${table}"] tbody tr td:first-child`)
    .allInnerTexts()).map((t) => t.trim());
}

async function shot(page: Page, name: string): Promise<void> {
  const dir = IN_DOCS.has(name) ? DOCS : SCRATCH;
  await page.screenshot({ path: `${dir}/${name}.png`, fullPage: true });
}

Deno.test({
  name: "a browser browses the registry: list, search, index, platform, layers, referrers, copy",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const reg = await seededRegistry();
    const { index, arm64, signature, sbom } = reg.seeded;
    let browser: Browser | undefined;
    try {
      browser = await launchBrowser();
      await browser.context.grantPermissions(["clipboard-read", "clipboard-write"], {
        origin: reg.url,
      });
      const page = await browser.context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));

      await t.step("/ sends a browser to the list of repositories", async () => {
        await page.goto(`${reg.url}/`);
        assert.equal(new URL(page.url()).pathname, "/ui/");
        assert.deepEqual(await firstColumn(page, "Repositories"), [
          "public/tools",
          "team/api",
          "team/web",
          "team/worker",
        ]);
        await shot(page, "ui-repositories");
      });

      await t.step("search narrows the list", async () => {
        await page.getByLabel("Search").fill("we");
        await page.getByLabel("Search").press("Enter");
        await page.waitForURL(/q=we/);
        assert.deepEqual(await firstColumn(page, "Repositories"), ["team/web"]);
      });

      await t.step("a multi-arch image lists its platforms and its referrers", async () => {
        await page.getByRole("link", { name: "team/web", exact: true }).click();
        await page.waitForURL(/\/ui\/r\/team\/web$/);
        assert.deepEqual(await firstColumn(page, "Tags"), ["latest", "v2"]);
        const chips = await page.locator('tr[data-tag="v2"] .chip').allInnerTexts();
        assert.deepEqual(chips, ["linux/amd64", "linux/arm64/v8"]);
        await shot(page, "ui-repository");
        await page.getByRole("link", { name: "v2", exact: true }).click();
        await page.waitForURL(/\/-\/m\/v2$/);
        assert.match(await page.locator("h1").innerText(), /Index team\/web:v2/);
        assert.deepEqual(await firstColumn(page, "Platforms"), ["linux/amd64", "linux/arm64/v8"]);
        const signatures = page.locator('table[aria-label="Signatures"] tbody tr');
        assert.equal(await signatures.count(), 1);
        assert.equal(await signatures.first().getAttribute("data-referrer"), signature.digest);
        assert.equal(
          await page.locator('table[aria-label="SBOMs"] tbody tr').first().getAttribute(
            "data-referrer",
          ),
          sbom.digest,
        );
        assert.ok((await page.content()).includes(index.digest));
        await shot(page, "ui-index");
      });

      await t.step("following a platform shows the image's config and layers", async () => {
        await page.getByRole("link", { name: "linux/arm64/v8" }).click();
        await page.waitForURL(new RegExp(`/-/m/${arm64.digest.replace(":", "(:|%3A)")}$`));
        const layers = await page.locator('table[aria-label="Layers"] tbody tr').count();
        assert.equal(layers, 3);
        const facts = await page.locator("dl.facts").nth(1).innerText();
        assert.match(facts, /linux\/arm64\/v8/);
        assert.match(facts, /\/usr\/bin\/web/);
        assert.match(facts, /APP_ENV=production/);
        const steps = await page.locator('table[aria-label="History"] tbody tr td:nth-child(2)')
          .allInnerTexts();
        assert.deepEqual(steps.map((s) => s.trim()), [
          "ADD rootfs.tar /",
          "COPY web /usr/bin/web",
          'CMD ["--port" "8080"] no layer',
        ]);
      });

      await t.step("the copy button puts the pull command on the clipboard", async () => {
        const button = page.getByRole("button", { name: /^Copy docker pull/ });
        assert.ok(await button.isVisible(), "the script did not show the copy button");
        await button.click();
        const copied = await page.evaluate<string>("navigator.clipboard.readText()");
        assert.equal(copied, `docker pull ${reg.host}/team/web@${arm64.digest}`);
        assert.match(await page.locator("#copy-status").innerText(), /Copied/);
        await shot(page, "ui-image");
      });

      await t.step("the search is reachable with the keyboard alone", async () => {
        await page.goto(`${reg.url}/ui/`);
        await page.keyboard.press("Tab");
        assert.equal(
          await page.evaluate("document.activeElement?.textContent"),
          "Skip to content",
        );
        let focused = "";
        for (let i = 0; i < 10 && focused !== "q"; i++) {
          await page.keyboard.press("Tab");
          focused = await page.evaluate<string>('document.activeElement?.id ?? ""');
        }
        assert.equal(focused, "q", "Tab never reached the search field");
        for (const key of ["a", "p", "i", "Enter"]) await page.keyboard.press(key);
        await page.waitForURL(/q=api/);
        assert.deepEqual(await firstColumn(page, "Repositories"), ["team/api"]);
      });

      await t.step("on a phone the pages fit the screen", async () => {
        await page.setViewportSize({ width: 390, height: 844 });
        for (const path of ["/ui/", "/ui/r/team/web", `/ui/r/team/web/-/m/${arm64.digest}`]) {
          await page.goto(reg.url + path);
          const [scroll, width] = await page.evaluate<number[]>(
            "[document.documentElement.scrollWidth, innerWidth]",
          );
          assert.ok(scroll <= width, `${path} is ${scroll}px wide on a ${width}px screen`);
        }
        await page.goto(`${reg.url}/ui/r/team/web`);
        await shot(page, "ui-phone");
      });
      assert.deepEqual(errors, [], "the page script failed");
    } finally {
      await browser?.close();
      await reg.close();
    }
  },
});

Deno.test({
  name: "with JavaScript off: sign in, delete a tag, and another user sees only what they may pull",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const reg = await seededRegistry({ doc: { auth: await testAuth() } });
    let browser: Browser | undefined;
    try {
      browser = await launchBrowser({ javaScript: false });
      const page = await browser.context.newPage();
      const signIn = async (user: string, password: string) => {
        await page.getByLabel("User name").fill(user);
        await page.getByLabel("Password").fill(password);
        await page.getByRole("button", { name: "Sign in" }).click();
      };

      await t.step("anonymous visitors see what anonymous may pull", async () => {
        await page.goto(`${reg.url}/ui/`);
        assert.deepEqual(await firstColumn(page, "Repositories"), ["public/tools"]);
        const res = await page.goto(`${reg.url}/ui/r/team/web`);
        assert.equal(res?.status(), 404);
        assert.match(await page.locator("main").innerText(), /anonymous visitors may see/);
      });

      await t.step("signing in checks the password and returns to the page", async () => {
        await page.locator("main").getByRole("link", { name: "Sign in" }).click();
        await signIn("alice", "wrong");
        assert.match(
          await page.locator("[role=alert]").innerText(),
          /Invalid user name or password/,
        );
        await signIn("alice", PASSWORDS.alice);
        await page.waitForURL(/\/ui\/r\/team\/web$/);
        assert.equal(await page.locator("[data-user]").innerText(), "alice");
        const session = (await browser!.context.cookies(`${reg.url}/ui/`)).find((c) =>
          c.name === "berth_session"
        );
        assert.ok(session, "no session cookie");
        assert.equal(session.httpOnly, true);
        assert.equal(session.sameSite, "Strict");
        assert.equal(session.secure, false, "Secure on plain HTTP would lose the cookie");
        await page.goto(`${reg.url}/ui/`);
        assert.deepEqual(await firstColumn(page, "Repositories"), [
          "public/tools",
          "team/api",
          "team/web",
          "team/worker",
        ]);
      });

      await t.step("a tag is deleted after a confirmation, and is gone", async () => {
        await page.goto(`${reg.url}/ui/r/team/api`);
        assert.deepEqual(await firstColumn(page, "Tags"), ["1.1", "1.0"]);
        assert.equal(
          await page.locator("button[data-copy]").first().isVisible(),
          false,
          "a copy button shows without the script",
        );
        assert.match(await page.locator(".pull code").first().innerText(), /docker pull/);
        await page.getByRole("link", { name: "Delete tag 1.0" }).click();
        assert.match(await page.locator("h1").innerText(), /Delete tag 1\.0\?/);
        await shot(page, "ui-delete");
        await page.getByRole("button", { name: "Delete tag 1.0" }).click();
        await page.waitForURL(/\/ui\/r\/team\/api\?deleted=/);
        assert.match(await page.locator(".flash").innerText(), /Deleted tag 1\.0/);
        assert.deepEqual(await firstColumn(page, "Tags"), ["1.1"]);
        const tags = await fetch(`${reg.url}/v2/team/api/tags/list`, {
          headers: basic("alice", PASSWORDS.alice),
        });
        assert.deepEqual((await tags.json()).tags, ["1.1"]);
      });

      await t.step("another user sees only the repositories they may pull", async () => {
        await page.getByRole("button", { name: "Sign out" }).click();
        await page.waitForURL(/\/ui\/$/);
        assert.equal(await page.locator("[data-user]").count(), 0);
        await page.getByRole("link", { name: "Sign in" }).click();
        await signIn("bob", PASSWORDS.bob);
        await page.waitForURL(/\/ui\/$/);
        assert.equal(await page.locator("[data-user]").innerText(), "bob");
        assert.deepEqual(await firstColumn(page, "Repositories"), ["public/tools"]);
        await page.getByRole("link", { name: "public/tools" }).click();
        assert.deepEqual(await firstColumn(page, "Tags"), ["stable"]);
        assert.equal(await page.getByRole("link", { name: /^Delete/ }).count(), 0);
        assert.equal((await page.goto(`${reg.url}/ui/r/team/web`))?.status(), 404);
        const confirm = await page.goto(`${reg.url}/ui/r/public/tools/-/delete?tag=stable`);
        assert.equal(confirm?.status(), 403);
        assert.equal((await page.goto(`${reg.url}/ui/registry`))?.status(), 403);
      });
    } finally {
      await browser?.close();
      await reg.close();
    }
  },
});
