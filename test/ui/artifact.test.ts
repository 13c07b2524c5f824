import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { startWharf, type TestServer } from "../helpers/server.js";
import { clipboardText, launchBrowser, openPage, screenshot } from "../helpers/browser.js";
import { cliHome, type CliHome, type CliResult } from "../client/cli.js";
import { writeKeyPair } from "../client/signing-support.js";
import { hostPlatform, writeIndexLayout, type Platform } from "../helpers/oci-layout.js";
import { helm, packageChart } from "../interop/support.js";

/**
 * The artifact page against content pushed by real clients: a Helm chart (helm), an image index with two
 * platforms (wharf cp from an OCI layout), and a bundle of files (wharf push) signed by a trusted key and
 * by an untrusted one (wharf sign, the key trusted with wharf trust) with an SBOM attached (wharf attach).
 */

const NOTES = "release notes for the page test\n"; // 33 bytes: "33 B" in the layers table
const SBOM = JSON.stringify({ spdxVersion: "SPDX-2.3", name: "app", packages: [] });

describe("the artifact page", { timeout: 180_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let dir: string;
  let cli: CliHome;
  let bundleDigest: string;
  let sbomDigest: string;
  let indexDigest: string;

  async function wharf(args: string[]): Promise<CliResult> {
    const result = await cli.run(args);
    assert.equal(result.code, 0, `wharf ${args.join(" ")}\n${result.stdout}${result.stderr}`);
    return result;
  }

  /** The page of `ref` (`NAME:TAG` or `NAME@DIGEST`), loaded: its heading shown. */
  async function open(
    ref: string,
    width = 1280,
    colorScheme: "light" | "dark" = "light",
  ): Promise<{ page: Page; close(): Promise<void> }> {
    const { page, context } = await openPage(browser, `${server.url}/a/${ref}`, { width, colorScheme });
    await page.locator("article.artifact h1").waitFor();
    return { page, close: () => context.close() };
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "wharf-ui-artifact-"));
    cli = await cliHome();
    const dataDir = join(dir, "data");
    await mkdir(dataDir);
    const [ci, other] = await Promise.all([writeKeyPair(dir, "ci"), writeKeyPair(dir, "stranger")]);
    // Trusted before the server starts: `wharf sign`'s signature is verified as it is pushed.
    await wharf(["trust", "key", "add", "ci", ci.pub, "--data-dir", dataDir]);
    const arm: Platform = { os: "linux", architecture: "arm64", variant: "v8" };
    const amd: Platform = { os: "linux", architecture: "amd64" };
    const layout = join(dir, "layout");
    const runHelm = helm(join(dir, "helm"));
    const [started, chart] = await Promise.all([
      startWharf({ dataDir, backend: {} }),
      packageChart(runHelm, dir, "wharf-demo", "0.3.1"),
      writeIndexLayout(layout, {
        tag: "multi",
        images: [
          { platform: hostPlatform().architecture === "arm64" ? arm : amd, files: { "p.txt": "one\n" } },
          { platform: hostPlatform().architecture === "arm64" ? amd : arm, files: { "p.txt": "two\n" } },
        ],
      }).then((index) => (indexDigest = index.digest)),
      writeFile(join(dir, "NOTES.txt"), NOTES),
      writeFile(join(dir, "blob.bin"), Buffer.from([0, 1, 2, 0, 255, 0])),
      writeFile(join(dir, "big.log"), "a log line of forty bytes, repeated....\n".repeat(8000)),
      writeFile(join(dir, "sbom.spdx.json"), SBOM),
    ]);
    server = started;
    browser = await launchBrowser();
    const host = server.host;
    await runHelm(["push", chart, `oci://${host}/charts`]);
    await wharf(["cp", "--all", `oci:${layout}:multi`, `${host}/images/multi:1.0`]);
    const pushed = await wharf([
      "push",
      `${host}/bundles/app:1.0`,
      join(dir, "NOTES.txt"),
      join(dir, "blob.bin"),
      join(dir, "big.log"),
      "-a",
      "org.opencontainers.image.title=App bundle",
      "-a",
      "org.opencontainers.image.description=Everything the app needs",
      "-a",
      "org.opencontainers.image.licenses=Apache-2.0",
      "-a",
      "org.opencontainers.image.version=1.0.0",
      "--source",
      "https://example.com/app.git",
      "--revision",
      "main@sha1:0123456789abcdef0123456789abcdef01234567",
    ]);
    bundleDigest = /sha256:[0-9a-f]{64}/.exec(pushed.stdout)?.[0] ?? "";
    assert.ok(bundleDigest, pushed.stdout);
    await wharf(["sign", `${host}/bundles/app:1.0`, "--key", ci.key]);
    await wharf(["sign", `${host}/bundles/app:1.0`, "--key", other.key]);
    const attached = await wharf([
      "attach",
      `${host}/bundles/app:1.0`,
      join(dir, "sbom.spdx.json"),
      "--artifact-type",
      "application/spdx+json",
    ]);
    sbomDigest = /sha256:[0-9a-f]{64}/.exec(attached.stdout)?.[0] ?? "";
    assert.ok(sbomDigest, attached.stdout);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    await cli?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("a signed bundle: facts, tags, layers with sizes, its action copied, both signatures' status, the SBOM", async () => {
    const { page, close } = await open("bundles/app:1.0");
    try {
      const facts = page.locator("section", { has: page.getByRole("heading", { name: "About" }) });
      for (const text of [
        "App bundle",
        "Everything the app needs",
        "Apache-2.0",
        "1.0.0",
        "https://example.com/app.git",
        "main@sha1:0123456789abcdef0123456789abcdef01234567",
      ]) {
        await facts.getByText(text, { exact: true }).waitFor();
      }
      await page.getByText(bundleDigest, { exact: true }).waitFor();
      await screenshot(page, "artifact");
      assert.equal(
        await page.getByRole("link", { name: "1.0", exact: true }).getAttribute("href"),
        "/a/bundles/app:1.0",
      );
      await page.locator(".artifact-kind .badge", { hasText: "Signed by ci" }).waitFor();

      await page.getByRole("heading", { name: "Layers (3)" }).waitFor();
      const layer = page.getByRole("row").filter({ hasText: "NOTES.txt" });
      assert.equal(await layer.count(), 1);
      assert.match(await layer.innerText(), new RegExp(`${Buffer.byteLength(NOTES)} B`));

      // Files are read when opened: a text file shows its text, a binary one says so.
      await page.getByText("List the files").click();
      await page.getByRole("button", { name: "Open NOTES.txt" }).click();
      await page.getByLabel("NOTES.txt").getByText(NOTES.trim()).waitFor();
      await page.getByRole("button", { name: "Open blob.bin" }).click();
      await page.getByText("Binary file: not shown.").waitFor();
      await page.getByRole("button", { name: "Open big.log" }).click();
      await page.getByText("Truncated at 256 KiB.").waitFor();

      const detail = (await (await fetch(`${server.url}/api/v1/artifacts/bundles/app:1.0`)).json()) as {
        actions: { command: string }[];
      };
      const first = detail.actions[0];
      assert.ok(first, "the bundle's kind has actions");
      const actions = page.locator("ul.actions");
      assert.equal(await actions.locator("li").count(), detail.actions.length);
      await actions.getByRole("button", { name: `Copy: ${first.command}` }).click();
      await page.getByText("Copied").first().waitFor();
      assert.equal(await clipboardText(page), first.command);

      const tree = page.locator("ul.tree");
      const badges = await tree.locator(".verification .badge").allInnerTexts();
      assert.deepEqual(badges.sort(), ["unverified", "verified"]);
      const trusted = tree
        .locator("li.accessory")
        .filter({ has: page.getByText("verified", { exact: true }) });
      assert.equal(await trusted.count(), 1);
      assert.match(await trusted.innerText(), /key\s+ci\b/);
      const untrusted = tree
        .locator("li.accessory")
        .filter({ has: page.getByText("unverified", { exact: true }) });
      assert.doesNotMatch(await untrusted.innerText(), /key\s+ci\b/);

      const sbom = tree.getByRole("link", { name: new RegExp(sbomDigest.slice(0, 19)) });
      await sbom.click();
      await page.getByText(sbomDigest, { exact: true }).waitFor();
      await page.locator(".artifact-kind", { hasText: "SPDX" }).waitFor();
      assert.equal(new URL(page.url()).pathname, `/a/bundles/app@${sbomDigest}`);
      // Its subject links back; its layer is the SBOM file.
      await page.getByRole("row").filter({ hasText: "sbom.spdx.json" }).waitFor();
      // A fresh page: the files listed are the SBOM's, never the bundle's it came from.
      await page.getByText("List the files").click();
      await page.getByRole("button", { name: "Open sbom.spdx.json" }).waitFor();
      assert.equal(await page.getByRole("button", { name: "Open NOTES.txt" }).count(), 0);
    } finally {
      await close();
    }
  });

  test("the manifest JSON, shown on demand pretty-printed; Copy puts the bytes as served on the clipboard", async () => {
    const served = await fetch(`${server.url}/v2/bundles/app/manifests/${bundleDigest}`, {
      headers: { Accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    const raw = await served.text();
    const { page, close } = await open(`bundles/app@${bundleDigest}`);
    try {
      const requests: string[] = [];
      page.on("request", (r) => requests.push(new URL(r.url()).pathname));
      await page.getByText("Show the manifest JSON").click();
      const json = page.getByLabel("Manifest JSON");
      await json.waitFor();
      assert.equal(await json.innerText(), JSON.stringify(JSON.parse(raw), null, 2));
      assert.deepEqual(
        requests.filter((p) => p.endsWith("/manifest")),
        [`/api/v1/artifacts/bundles/app@${bundleDigest}/manifest`],
      );
      await page.getByRole("button", { name: "Copy manifest" }).click();
      await page.getByText("Copied").waitFor();
      assert.equal(await clipboardText(page), raw);
    } finally {
      await close();
    }
  });

  test("a Helm chart: its facts, and values.yaml read only when its tab is opened", async () => {
    const { page, close } = await open("charts/wharf-demo:0.3.1");
    try {
      await page.locator(".artifact-kind", { hasText: "Helm chart" }).waitFor();
      await page.getByText("Wharf interop chart", { exact: true }).waitFor();
      const files: string[] = [];
      page.on("request", (r) => {
        if (new URL(r.url()).pathname.includes("/files")) files.push(new URL(r.url()).pathname);
      });
      // Loaded again with the listener in place: a fetch on mount would be seen.
      await page.reload();
      await page.getByText("Wharf interop chart", { exact: true }).waitFor();
      const row = page
        .getByRole("row")
        .filter({ hasText: "application/vnd.cncf.helm.chart.content.v1.tar+gzip" });
      assert.equal(await row.count(), 1);
      assert.equal(files.length, 0, "nothing of the chart's files is read before a tab is opened");
      await page.getByRole("button", { name: "values.yaml" }).click();
      await page.getByText("greeting: hello from wharf").waitFor();
      assert.ok(
        files.every((p) => !p.endsWith("Chart.yaml") && !p.endsWith("README.md")),
        files.join(", "),
      );
    } finally {
      await close();
    }
  });

  test("an image index: its platforms, each a link to its own page", async () => {
    const { page, close } = await open("images/multi:1.0");
    try {
      await page.getByRole("heading", { name: /Platforms \(2\)/ }).waitFor();
      const amd = page.getByRole("link", { name: "linux/amd64", exact: true });
      const arm = page.getByRole("link", { name: "linux/arm64/v8", exact: true });
      assert.equal(await amd.count(), 1);
      assert.equal(await arm.count(), 1);
      await arm.click();
      await page.getByRole("heading", { name: /Layers \(1\)/ }).waitFor();
      assert.match(new URL(page.url()).pathname, /^\/a\/images\/multi@sha256:[0-9a-f]{64}$/);
      assert.notEqual(new URL(page.url()).pathname, `/a/images/multi@${indexDigest}`);
    } finally {
      await close();
    }
  });

  test("at 375 px nothing scrolls sideways (bundle, index); an unknown artifact says so", async () => {
    for (const [ref, scheme] of [
      ["bundles/app:1.0", "light"],
      ["images/multi:1.0", "dark"],
    ] as const) {
      const { page, close } = await open(ref, 375, scheme);
      try {
        await page.getByRole("heading", { name: "Signatures, SBOMs and attestations" }).waitFor();
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(width <= 375, `${ref}: the page is ${width} px wide`);
        const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
        assert.equal(background, scheme === "dark" ? "rgb(13, 17, 23)" : "rgb(255, 255, 255)");
      } finally {
        await close();
      }
    }
    const { page, context } = await openPage(browser, `${server.url}/a/bundles/app:nope`);
    try {
      await page.getByRole("heading", { name: "Artifact not found" }).waitFor();
      await page.getByText("bundles/app:nope").waitFor();
    } finally {
      await context.close();
    }
  });
});
