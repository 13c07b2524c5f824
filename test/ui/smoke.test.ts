import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { Browser } from "playwright-core";
import { startWharf, type TestServer } from "../helpers/server.js";
import { launchBrowser, openPage } from "../helpers/browser.js";

let server: TestServer;
let browser: Browser;

before(async () => {
  server = await startWharf({ backend: {} });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("GET / serves the UI with a strict Content-Security-Policy, and its assets cached for good", async () => {
  const res = await fetch(`${server.url}/`, { headers: { "Accept-Encoding": "br" } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
  assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'self'/);
  assert.equal(res.headers.get("cache-control"), "no-cache");
  const html = await res.text();
  const script = /<script type="module" crossorigin src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
  assert.ok(script, html);
  const asset = await fetch(`${server.url}${script}`, { headers: { "Accept-Encoding": "gzip" } });
  assert.equal(asset.status, 200);
  assert.equal(asset.headers.get("content-encoding"), "gzip");
  assert.match(asset.headers.get("cache-control") ?? "", /immutable/);
  const etag = asset.headers.get("etag") ?? "";
  assert.match(etag, /-gzip"$/, "each encoding has its own validator");
  await asset.arrayBuffer();
  const again = await fetch(`${server.url}${script}`, {
    headers: { "Accept-Encoding": "gzip", "If-None-Match": `W/"other", W/${etag}` },
  });
  assert.equal(again.status, 304);
  // A client-side route answers the page; the registry's API paths keep their OCI errors.
  assert.equal((await fetch(`${server.url}/r/some/repo`)).status, 200);
  const api = await fetch(`${server.url}/api/v1/nothing-here`);
  assert.equal(api.status, 404);
  assert.match(await api.text(), /"errors"/);
  assert.equal((await fetch(`${server.url}/assets/missing-0000.js`)).status, 404);
});

test("the page renders in a browser: header, repositories, a not-found page", async () => {
  const { page, context } = await openPage(browser, `${server.url}/`);
  try {
    await page.getByRole("link", { name: /Wharf/ }).first().waitFor();
    await page.getByRole("heading", { name: "Repositories" }).waitFor();
    await page.goto(`${server.url}/no/such/page`);
    await page.getByRole("heading", { name: "Not found" }).waitFor();
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    await page.goto(`${server.url}/`);
    await page.getByRole("heading", { name: "Repositories" }).waitFor();
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test("the first page load stays small: its own files under 60 KB as sent (brotli)", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    const measured: Promise<{ url: string; bytes: number }>[] = [];
    page.on("requestfinished", (request) => {
      const url = new URL(request.url());
      if (url.pathname !== "/" && !url.pathname.startsWith("/assets/")) return;
      measured.push(request.sizes().then((s) => ({ url: url.pathname, bytes: s.responseBodySize })));
    });
    await page.goto(`${server.url}/`);
    await page.getByRole("heading", { name: "Repositories" }).waitFor();
    await page.waitForLoadState("networkidle");
    const sizes = await Promise.all(measured);
    const total = sizes.reduce((sum, s) => sum + s.bytes, 0);
    assert.ok(
      sizes.some((s) => s.url.endsWith(".js")),
      JSON.stringify(sizes),
    );
    // The administration code is a chunk of its own, loaded only on /admin.
    assert.ok(!sizes.some((s) => s.url.includes("sections")), JSON.stringify(sizes));
    assert.ok(total > 0 && total < 60_000, `first load ${total} bytes: ${JSON.stringify(sizes)}`);
    console.log(`first page load: ${total} bytes in ${sizes.length} files`);
  } finally {
    await context.close();
  }
});

test("ui.enabled false: no UI at /, the registry API unchanged", async () => {
  const headless = await startWharf({ env: { WHARF_UI_ENABLED: "false" } });
  try {
    const res = await fetch(`${headless.url}/`);
    assert.equal(res.status, 404);
    assert.match(await res.text(), /"errors"/);
    assert.equal((await fetch(`${headless.url}/v2/`)).status, 200);
  } finally {
    await headless.stop();
  }
});

test("keyboard: the skip link comes first and leads to the content; / focuses the search box", async () => {
  const { page, context } = await openPage(browser, `${server.url}/`);
  try {
    await page.getByRole("heading", { name: "Repositories" }).waitFor();
    await page.keyboard.press("Tab");
    const first = await page.evaluate(() => document.activeElement?.textContent?.trim());
    assert.equal(first, "Skip to content");
    await page.keyboard.press("Enter");
    assert.equal(await page.evaluate(() => location.hash), "#main");
    await page.keyboard.press("/");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "search");
    await page.keyboard.type("nothing-like-this");
    await page.waitForURL(/\/search\?q=nothing-like-this$/);
  } finally {
    await context.close();
  }
});
