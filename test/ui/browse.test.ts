/**
 * Browsing in a real browser: the overview (kind filter, paging), search as you type (kind and
 * annotation filters), the repository page (the seed's listing: kinds, versions, signatures, actions to
 * copy), who sees what (anonymous, signed in, signed out), at 375 px and in dark mode. Content comes from
 * real clients (helm, skopeo, wharf push + sign: support.ts), on an auth-enabled server.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { ADMIN, addRule, basic, createUser, startAuthServer, type AuthServer } from "../auth/support.js";
import { clipboardText, launchBrowser, openPage, screenshot, type PageOptions } from "../helpers/browser.js";
import { pushManyRepositories, removeWork, SEED, seedContent, type Seeded } from "./support.js";

const DEV = { name: "dev", password: "dev-password-1" };
/** Enough repositories for three pages of 50 (PagedTable's page size). */
const BULK = 120;

let server: AuthServer;
let browser: Browser;
let seeded: Seeded;
let work: string;
/** Uncaught errors of every page opened (none expected). */
const pageErrors: string[] = [];

before(async () => {
  work = await mkdtemp(join(tmpdir(), "wharf-ui-browse-"));
  [server, browser] = await Promise.all([startAuthServer(), launchBrowser()]);
  await createUser(server.url, DEV.name, DEV.password);
  await addRule(server.url, "anonymous", "public/**", ["pull"]);
  await addRule(server.url, `user:${DEV.name}`, "team/**", ["pull"]);
  [seeded] = await Promise.all([
    seedContent(server.server, join(work, "seed")),
    pushManyRepositories(server.url, "bulk/r", BULK),
  ]);
});

after(async () => {
  assert.deepEqual(pageErrors, [], "no page threw");
  await browser?.close();
  await server?.stop();
  if (work) await removeWork(work);
});

/** A page as `who` sees it (signed in through the sign-in form), or as anyone (null). */
async function open(
  path: string,
  who: typeof ADMIN | typeof DEV | null,
  options: PageOptions = {},
): Promise<{ page: Page; context: BrowserContext }> {
  const opened = await openPage(browser, `${server.url}${who ? "/sign-in" : path}`, options);
  opened.page.on("pageerror", (err) => pageErrors.push(`${path}: ${err.message}`));
  if (who) {
    await signIn(opened.page, who);
    await opened.page.goto(`${server.url}${path}`);
  }
  return opened;
}

async function signIn(page: Page, who: { name: string; password: string }): Promise<void> {
  await page.getByLabel("User name").fill(who.name);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
}

function rows(page: Page) {
  return page.locator("main table tbody tr");
}

test("overview: the kind chips filter by kind (?kind= in the URL); repository page; artifact link", async () => {
  const { page, context } = await open("/", ADMIN);
  try {
    await page.getByRole("heading", { name: "Repositories" }).waitFor();
    const chips = page.getByRole("navigation", { name: "Filter by kind" });
    await chips.getByRole("link", { name: "Helm chart" }).click();
    await page.waitForURL(/\?kind=helm-chart$/);
    await page.getByRole("link", { name: SEED.chart.repository }).waitFor();
    assert.equal(await rows(page).count(), 1, "only the chart's repository is a Helm chart");
    const row = rows(page).first();
    assert.match(await row.innerText(), /Wharf interop chart/);
    assert.match(await row.innerText(), /Helm chart/);
    assert.equal(await chips.getByRole("link", { name: "Helm chart" }).getAttribute("aria-current"), "true");

    await page.getByRole("link", { name: SEED.chart.repository }).click();
    await page.getByRole("heading", { name: SEED.chart.repository }).waitFor();
    const artifact = rows(page).first();
    await artifact.getByRole("link", { name: SEED.chart.tag, exact: true }).waitFor();
    const text = await artifact.innerText();
    for (const expected of ["Helm chart", SEED.chart.tag, "Unsigned", "never"]) {
      assert.ok(text.includes(expected), `${expected} in ${text}`);
    }
    assert.ok(text.includes(seeded.chart.digest.slice(0, 19)), `short digest in ${text}`);

    await artifact.getByRole("link", { name: SEED.chart.tag, exact: true }).click();
    await page.waitForURL(`${server.url}/a/${SEED.chart.repository}:${SEED.chart.tag}`);
    // Back twice: the repository page, then the overview with its filter (the URL keeps it).
    await page.goBack();
    await page.goBack();
    await page.getByRole("link", { name: SEED.chart.repository }).waitFor();
    assert.equal(await rows(page).count(), 1);
  } finally {
    await context.close();
  }
});

test(`overview pages ${BULK} repositories 50 at a time: one page in the document, Next and Previous`, async () => {
  const { page, context } = await open("/", ADMIN);
  try {
    await page.getByText("Page 1").waitFor();
    assert.equal(await rows(page).count(), 50);
    assert.match(await rows(page).first().innerText(), /bulk\/r-0000/);
    await page.getByRole("button", { name: "Next" }).click();
    await page.getByText("Page 2").waitFor();
    await page.getByRole("link", { name: "bulk/r-0050" }).waitFor();
    assert.equal(await rows(page).count(), 50);
    assert.equal(await page.getByRole("link", { name: "bulk/r-0000" }).count(), 0);
    await page.getByRole("button", { name: "Previous" }).click();
    await page.getByRole("link", { name: "bulk/r-0000" }).waitFor();
    assert.equal(await page.getByRole("button", { name: "Previous" }).isDisabled(), true);
  } finally {
    await context.close();
  }
});

test("search as you type finds the chart; kind and annotation filters; a result opens its artifact", async () => {
  const { page, context } = await open("/", ADMIN);
  try {
    const searched: string[] = [];
    page.on("request", (req) => {
      const url = new URL(req.url());
      if (url.pathname === "/api/v1/search") searched.push(url.searchParams.get("q") ?? "");
    });
    const answered = page.waitForResponse((res) => /\/api\/v1\/search\?q=hello&/.test(res.url()));
    await page.getByRole("searchbox", { name: "Search artifacts" }).pressSequentially("hello");
    await page.waitForURL(/\/search\?q=hello$/);
    await answered;
    const hit = page.getByRole("link", { name: `${SEED.chart.repository}:${SEED.chart.tag}` });
    await hit.waitFor();
    // The image matches an earlier text ("h": "the") but not "hello": only the last answer shows.
    await page
      .getByRole("link", { name: `${SEED.image.repository}:${SEED.image.tag}` })
      .waitFor({ state: "detached" });
    assert.equal(searched.at(-1), "hello", "the last question asked is the text typed");
    assert.ok(!searched.includes(""), "nothing was asked for the empty box");

    // Typing on replaces the results (an older answer never shows last).
    await page.getByRole("searchbox", { name: "Search artifacts" }).fill("web");
    await page.getByRole("link", { name: `${SEED.image.repository}:${SEED.image.tag}` }).waitFor();
    assert.equal(await hit.count(), 0);

    // Annotation filter: only the bundle carries it; a malformed one is refused with a message.
    await page.getByRole("searchbox", { name: "Search artifacts" }).fill("");
    await page.getByLabel("Annotation (key=value)").fill("no-equals-sign");
    await page.getByRole("button", { name: "Add filter" }).click();
    await page.getByText("An annotation filter is key=value").waitFor();
    await page.getByLabel("Annotation (key=value)").fill(`${SEED.annotation.key}=${SEED.annotation.value}`);
    await page.getByRole("button", { name: "Add filter" }).click();
    await page.waitForURL(/annotation=com\.example\.environment%3Dproduction/);
    const bundle = page.getByRole("link", { name: `${SEED.bundle.repository}:${SEED.bundle.tag}` });
    await bundle.waitFor();
    assert.equal(await rows(page).count(), 1);
    assert.match(await rows(page).first().innerText(), /Signed/);

    // Kind filter: the bundle is a Flux artifact, not a Helm chart.
    await page.getByLabel("Kind", { exact: true }).selectOption("helm-chart");
    await page.getByText("Nothing matches these filters.").waitFor();
    await page.getByLabel("Kind", { exact: true }).selectOption("flux-artifact");
    await bundle.waitFor();
    await page
      .getByRole("button", { name: `Remove filter ${SEED.annotation.key}=${SEED.annotation.value}` })
      .click();
    // Without the annotation (and no text) there is nothing to search by: the page says so.
    await page.getByText("Type in the search box").waitFor();
    await page.goBack();
    await bundle.click();
    await page.waitForURL(`${server.url}/a/${SEED.bundle.repository}:${SEED.bundle.tag}`);
  } finally {
    await context.close();
  }
});

test("repository page: the signed bundle's badge names its key; an action copies this registry's command", async () => {
  const { page, context } = await open(`/r/${SEED.bundle.repository}`, ADMIN);
  try {
    await page.getByRole("heading", { name: SEED.bundle.repository }).waitFor();
    const row = rows(page).first();
    const badge = row.locator(".badge.ok");
    await badge.waitFor();
    assert.equal(await badge.getAttribute("title"), `Signed by ${seeded.key}`);
    assert.match(await row.innerText(), /Flux artifact/);
    await screenshot(page, "repository");

    const listed = (await (
      await fetch(`${server.url}/api/v1/repositories/${SEED.bundle.repository}/artifacts`, {
        headers: { Authorization: basic(ADMIN) },
      })
    ).json()) as { artifacts: { actions?: { command: string }[] }[] };
    const actions = listed.artifacts[0]?.actions;
    const copies = row.getByRole("button", { name: /^Copy: / });
    assert.ok(actions && actions.length > 0, "a Flux artifact has actions");
    assert.equal(await copies.count(), actions.length);
    const shown = await row.locator(".command code").first().innerText();
    assert.equal(shown, actions[0]?.command);
    assert.ok(shown.includes(server.server.host), `${shown} names ${server.server.host}`);
    await copies.first().click();
    await row.getByText("Copied").waitFor();
    assert.equal(await clipboardText(page), shown);
  } finally {
    await context.close();
  }
});

test("anonymous sees only public repositories; a user sees more; signing out shows less again", async () => {
  const { page, context } = await open("/", null);
  try {
    await page.getByRole("link", { name: SEED.chart.repository }).waitFor();
    await page.getByRole("link", { name: SEED.image.repository }).waitFor();
    assert.equal(await page.getByRole("link", { name: SEED.bundle.repository }).count(), 0);
    assert.equal(await page.getByRole("link", { name: "bulk/r-0000" }).count(), 0);
    await page.goto(`${server.url}/r/${SEED.bundle.repository}`);
    await page.getByText(`Repository ${SEED.bundle.repository} not found`).waitFor();
    // A bad password is refused on the form; the right one comes back to the page asked for.
    await page.getByRole("link", { name: "Sign in" }).first().click();
    await page.waitForURL(/\/sign-in\?next=%2Fr%2Fteam%2Fdeploy$/);
    await page.getByLabel("User name").fill(DEV.name);
    await page.getByLabel("Password").fill("wrong-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").waitFor();
    await page.getByLabel("Password").fill(DEV.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${server.url}/r/${SEED.bundle.repository}`);
    await rows(page).first().getByText("Flux artifact").waitFor();
    await page.getByRole("link", { name: "Repositories", exact: true }).click();
    await page.getByRole("link", { name: SEED.bundle.repository }).waitFor();
    assert.equal(
      await page.getByRole("link", { name: "bulk/r-0000" }).count(),
      0,
      "dev has no rule on bulk/",
    );
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("link", { name: "Sign in" }).first().waitFor();
    await page.getByRole("link", { name: SEED.chart.repository }).waitFor();
    assert.equal(await page.getByRole("link", { name: SEED.bundle.repository }).count(), 0);
  } finally {
    await context.close();
  }
});

test("375 px: no horizontal scroll, the repository table reads as cards, sign-in ignores a foreign next; dark mode", async () => {
  const narrow = await open(`/r/${SEED.bundle.repository}`, ADMIN, { width: 375, height: 740 });
  try {
    const { page } = narrow;
    await rows(page).first().locator(".badge.ok").waitFor();
    const layout = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      row: getComputedStyle(document.querySelector("main tbody tr")!).display,
      head: document.querySelector("main thead")!.getBoundingClientRect().right,
    }));
    assert.ok(layout.scrollWidth <= 375, `scrollWidth ${layout.scrollWidth}`);
    assert.equal(layout.row, "block", "each artifact is a card");
    assert.ok(layout.head <= 0, "the column headers are off screen (each cell carries its label)");
    for (const path of ["/?kind=helm-chart", "/search?q=hello"]) {
      await page.goto(`${server.url}${path}`);
      await page.locator("main h1").waitFor();
      if (path !== "/sign-in") await rows(page).first().waitFor();
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 375, `${path}: scrollWidth ${width}`);
    }
  } finally {
    await narrow.context.close();
  }
  // Signing in on a phone; a `next` naming another site is not followed (the registry's home instead).
  const phone = await open("/sign-in?next=//evil.example/steal", null, { width: 375, height: 740 });
  try {
    assert.ok((await phone.page.evaluate(() => document.documentElement.scrollWidth)) <= 375);
    await signIn(phone.page, DEV);
    await phone.page.waitForURL(`${server.url}/`);
    await phone.page.getByRole("link", { name: SEED.bundle.repository }).waitFor();
  } finally {
    await phone.context.close();
  }
  const background = async (colorScheme: "light" | "dark") => {
    const opened = await open(`/r/${SEED.chart.repository}`, ADMIN, { colorScheme });
    try {
      await rows(opened.page).first().waitFor();
      return await opened.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    } finally {
      await opened.context.close();
    }
  };
  const [light, dark] = [await background("light"), await background("dark")];
  assert.notEqual(light, dark);
  assert.equal(dark, "rgb(13, 17, 23)");
});
