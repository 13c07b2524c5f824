import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { clipboardText, launchBrowser, openPage, type PageOptions } from "../helpers/browser.js";
import { cliHome, type CliHome } from "../client/cli.js";
import {
  adminCall,
  ADMIN,
  basic,
  createUser,
  startAuthServer,
  type AuthServer,
  type Credentials,
} from "../auth/support.js";

let server: AuthServer;
let browser: Browser;
let cli: CliHome;
let host: string;
const BOB = { name: "bob", password: "bob-password-1" };

before(async () => {
  server = await startAuthServer();
  host = new URL(server.url).host;
  await createUser(server.url, BOB.name, BOB.password);
  cli = await cliHome();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await cli?.cleanup();
  await server?.stop();
});

/** A fresh page signed in as `creds` through the sign-in page (a session cookie), then at `path`. */
async function signedIn(creds: Credentials, path: string, options: PageOptions = {}): Promise<Page> {
  const { page } = await openPage(browser, `${server.url}/sign-in`, options);
  await page.getByLabel("User name", { exact: true }).fill(creds.name);
  await page.getByLabel("Password", { exact: true }).fill(creds.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
  await page.goto(`${server.url}${path}`);
  return page;
}

/** Opens the Confirm dialog of `action`, checks what it says it will do, and confirms. */
async function confirm(page: Page, action: string, says: RegExp): Promise<void> {
  await page.getByRole("button", { name: action, exact: true }).first().click();
  const dialog = page.getByRole("dialog");
  await dialog.waitFor();
  assert.match(await dialog.innerText(), says);
  await dialog.getByRole("button", { name: action, exact: true }).click();
  await dialog.waitFor({ state: "hidden" });
}

async function tagsStatus(creds: Credentials): Promise<number> {
  const res = await fetch(`${server.url}/v2/team/app/tags/list`, {
    headers: { Authorization: basic(creds) },
  });
  await res.body?.cancel();
  return res.status;
}

test("a robot token made in the UI: its secret shown once, it pushes, it is gone after leaving, revoked it is refused", async () => {
  const page = await signedIn(ADMIN, "/admin/tokens");
  await page.getByRole("heading", { name: "Robot tokens" }).waitFor();
  // An administrator's header links here (a user's does not: see below).
  await page
    .getByRole("navigation", { name: "Main" })
    .getByRole("link", { name: "Admin", exact: true })
    .waitFor();
  await page.getByText("No robot tokens.").waitFor();
  await page.getByLabel("Name", { exact: true }).fill("ci-pusher");
  await page.getByLabel("Repositories", { exact: true }).fill("team/**");
  await page.getByRole("checkbox", { name: "push" }).check();
  await page.getByLabel("Expires after", { exact: true }).fill("30d");
  await confirm(page, "Create token", /Create robot token ci-pusher: it may pull, push on team\/\*\*/);

  const box = page.getByRole("region", { name: "Secret of ci-pusher" });
  assert.match(await box.innerText(), /it will not be shown again/);
  const secret = (await box.locator("code.secret").innerText()).trim();
  assert.ok(secret.length >= 20, secret);
  await box.getByRole("button", { name: /Copy secret/ }).click();
  assert.equal(await clipboardText(page), secret);
  await page.getByRole("cell", { name: "ci-pusher", exact: true }).waitFor();

  // The secret works with a real client: wharf login, then a push the token's scope allows.
  const robot = { name: "ci-pusher", password: secret };
  const login = await cli.run(["login", host, "-u", robot.name, "--password-stdin"], { input: secret });
  assert.equal(login.code, 0, login.stderr);
  const file = join(cli.dir, "app.txt");
  await writeFile(file, "hello from the robot\n");
  const push = await cli.run(["push", `${host}/team/app:build-1`, file]);
  assert.equal(push.code, 0, push.stderr);
  assert.equal(await tagsStatus(robot), 200);

  // Away and back: the page no longer holds the secret anywhere.
  await page.getByRole("link", { name: "Audit log" }).click();
  await page.getByRole("heading", { name: "Audit log" }).waitFor();
  await page.getByRole("link", { name: "Robot tokens" }).click();
  await page.getByRole("cell", { name: "ci-pusher", exact: true }).waitFor();
  assert.equal(await page.getByRole("region", { name: /Secret of/ }).count(), 0);
  const held = await page.evaluate(
    () =>
      document.documentElement.outerHTML +
      JSON.stringify({ ...localStorage }) +
      JSON.stringify({ ...sessionStorage }),
  );
  assert.ok(!held.includes(secret), "the secret is still in the page");

  await confirm(
    page,
    "Revoke ci-pusher",
    /Revoke robot token ci-pusher: clients using it are refused at once, on every node\./,
  );
  await page.getByText("revoked", { exact: true }).waitFor();
  assert.equal(await tagsStatus(robot), 401);
  await page.context().close();
});

test("an immutability rule added and removed, each stated first", async () => {
  const page = await signedIn(ADMIN, "/admin/immutable");
  await page.getByRole("heading", { name: "Immutable tags" }).waitFor();
  await page.getByLabel("Name", { exact: true }).fill("releases");
  await page.getByLabel("Repositories", { exact: true }).fill("team/**");
  await page.getByLabel("Tags", { exact: true }).fill("v*");
  await confirm(
    page,
    "Add rule",
    /Add immutability rule releases: .*tags matching the glob v\* in team\/\*\*/,
  );
  await page.getByRole("cell", { name: "releases", exact: true }).waitFor();
  const names = async () =>
    ((await (await adminCall(server.url, "GET", "/immutable")).json()) as { rules: { name: string }[] }).rules
      .map((r) => r.name)
      .sort();
  const before = await names();
  assert.ok(before.includes("releases"), before.join(" "));
  // The server's refusal is shown in the dialog: a second rule of the same name.
  await page.getByLabel("Name", { exact: true }).fill("releases");
  await page.getByLabel("Repositories", { exact: true }).fill("other/**");
  await page.getByLabel("Tags", { exact: true }).fill("v*");
  await page.getByRole("button", { name: "Add rule", exact: true }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByRole("button", { name: "Add rule", exact: true }).click();
  await dialog.getByRole("alert").waitFor();
  assert.match(await dialog.getByRole("alert").innerText(), /CONFLICT/);
  await dialog.getByRole("button", { name: "Cancel" }).click();

  await confirm(
    page,
    "Remove releases",
    /Remove immutability rule releases: tags matching v\* in team\/\*\* can be moved/,
  );
  await page.getByRole("cell", { name: "releases", exact: true }).waitFor({ state: "detached" });
  assert.deepEqual(
    await names(),
    before.filter((n) => n !== "releases"),
  );
  await page.context().close();
});

test("a garbage collection dry run started from the UI finishes with its report", async () => {
  const page = await signedIn(ADMIN, "/admin/gc");
  await page.getByText("No garbage collection has run yet.").waitFor();
  await confirm(page, "Start a dry run", /removes nothing/);
  const report = page.locator(".gc-report");
  await report.getByText("done", { exact: true }).waitFor();
  assert.match(await report.innerText(), /Dry run/);
  assert.match(await report.innerText(), /would be removed, giving back .*Nothing was removed/);
  const runs = (await (await adminCall(server.url, "GET", "/gc")).json()) as {
    runs: { dryRun: boolean; status: string; phases: { phase: string }[] }[];
  };
  assert.equal(runs.runs.length, 1);
  assert.equal(runs.runs[0]!.dryRun, true);
  assert.equal(runs.runs[0]!.status, "done");
  // Every phase the server reports is a row of the report's phase table.
  const phases = runs.runs[0]!.phases.map((p) => p.phase);
  assert.ok(phases.length > 0);
  assert.equal(await report.locator("table").first().locator("tbody tr").count(), phases.length);
  for (const phase of phases) await report.getByRole("cell", { name: phase, exact: true }).first().waitFor();
  // The runs list shows it too.
  const listed = page.getByRole("table", { name: "Recent runs" });
  await listed.getByText("yes", { exact: true }).waitFor();
  await listed.getByText("done", { exact: true }).waitFor();
  await page.context().close();
});

test("the audit log filtered to the robot's creation", async () => {
  const page = await signedIn(ADMIN, "/admin/audit");
  const table = page.getByRole("table", { name: /Audit events/ });
  await table.waitFor();
  await page.getByLabel("Action", { exact: true }).fill("token.create");
  await page.getByLabel("Actor", { exact: true }).fill(ADMIN.name);
  await table.locator("tbody tr").first().waitFor();
  await page.waitForFunction(() =>
    [...document.querySelectorAll("tbody tr code")].every((c) => c.textContent === "token.create"),
  );
  const rows = table.locator("tbody tr");
  assert.equal(await rows.count(), 1);
  assert.match(await rows.first().innerText(), /ci-pusher/);
  await page.getByLabel("Action", { exact: true }).fill("token.revoke");
  await page.waitForFunction(() => document.querySelector("tbody tr code")?.textContent === "token.revoke");
  assert.equal(await rows.count(), 1);
  await page.context().close();
});

test("retention: a policy added, its preview says what would go and why, applying removes just that", async () => {
  // A second tag, pushed after the robot's by the administrator with the CLI.
  const login = await cli.run(["login", host, "-u", ADMIN.name, "--password-stdin"], {
    input: ADMIN.password,
  });
  assert.equal(login.code, 0, login.stderr);
  const push = await cli.run(["push", `${host}/team/app:build-2`, join(cli.dir, "app.txt")]);
  assert.equal(push.code, 0, push.stderr);

  const page = await signedIn(ADMIN, "/admin/retention");
  await page.getByText(/No retention policies/).waitFor();
  await page.getByLabel("Name", { exact: true }).fill("keep-one");
  await page.getByLabel("Repositories", { exact: true }).fill("team/**");
  await page.getByLabel("Keep the last", { exact: true }).fill("1");
  await confirm(
    page,
    "Add policy",
    /Add retention policy keep-one on team\/\*\*: keep the last 1 by pushed.*Nothing is removed now/,
  );
  await page.getByRole("cell", { name: "keep-one", exact: true }).waitFor();

  await page.getByRole("button", { name: "Preview every policy" }).click();
  await page.getByText("Under every policy: 1 tag(s) would be removed, 1 kept.").waitFor();
  const decisions = page.getByRole("table", { name: "What would go, and why" });
  const removed = decisions.locator("tbody tr", { hasText: "build-1" });
  assert.match(await removed.innerText(), /remove/);
  assert.match(await decisions.locator("tbody tr", { hasText: "build-2" }).innerText(), /keep/);

  await confirm(page, "Apply now", /Remove 1 tag\(s\) in 1 repository under every policy, keeping 1\./);
  await page.getByText(/Removed 1 tag\(s\), kept 1/).waitFor();
  const res = await fetch(`${server.url}/v2/team/app/tags/list`, {
    headers: { Authorization: basic(ADMIN) },
  });
  assert.deepEqual(((await res.json()) as { tags: string[] }).tags, ["build-2"]);
  await page.context().close();
});

test("users: one added, its password reset, then removed, each stated first and each taking effect", async () => {
  const carol = { name: "carol", password: "carol-password-1" };
  const whoami = async (creds: Credentials) => {
    const res = await fetch(`${server.url}/api/v1/whoami`, { headers: { Authorization: basic(creds) } });
    await res.body?.cancel();
    return res.status;
  };
  const page = await signedIn(ADMIN, "/admin/users");
  await page.getByRole("cell", { name: "bob", exact: true }).waitFor();
  await page.getByLabel("Name", { exact: true }).fill(carol.name);
  await page.getByLabel("Password", { exact: true }).fill(carol.password);
  await confirm(page, "Add user", /Add user carol: they can sign in with this password at once/);
  await page.getByRole("cell", { name: "carol", exact: true }).waitFor();
  assert.equal(await whoami(carol), 200);

  const row = page.locator("tbody tr", { hasText: "carol" });
  await row.getByRole("button", { name: "Reset password" }).click();
  await page.getByLabel("New password for carol", { exact: true }).fill("carol-password-2");
  await confirm(page, "Set password", /Set a new password for carol: the old one is refused from now on/);
  assert.equal(await whoami(carol), 401);
  assert.equal(await whoami({ name: "carol", password: "carol-password-2" }), 200);

  await confirm(page, "Remove carol", /Remove user carol: they can no longer sign in/);
  await page.getByRole("cell", { name: "carol", exact: true }).waitFor({ state: "detached" });
  assert.equal(await whoami({ name: "carol", password: "carol-password-2" }), 401);
  await page.context().close();
});

test("a user who is not an administrator sees no Admin link, and /admin says it needs an administrator", async () => {
  const page = await signedIn(BOB, "/");
  const scripts: string[] = [];
  page.on("request", (req) => void (req.resourceType() === "script" && scripts.push(req.url())));
  await page.getByRole("heading", { name: "Repositories" }).waitFor();
  assert.equal(await page.getByRole("link", { name: "Admin", exact: true }).count(), 0);
  await page.goto(`${server.url}/admin/users`);
  await page.getByText("This needs an administrator.").waitFor();
  assert.equal(await page.getByRole("table").count(), 0);
  // The sections' code is a chunk of its own, fetched for administrators only.
  assert.ok(scripts.length > 0);
  assert.deepEqual(
    scripts.filter((url) => /\/assets\/sections-/.test(url)),
    [],
  );
  await page.context().close();
});

test("at 375 px (in dark mode) every administration section fits the width", async () => {
  const page = await signedIn(ADMIN, "/admin", { width: 375, colorScheme: "dark" });
  const chunk = page.waitForRequest(/\/assets\/sections-[^/]+\.js$/);
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(err.message));
  for (const section of [
    "users",
    "tokens",
    "access",
    "immutable",
    "trust",
    "retention",
    "quotas",
    "gc",
    "audit",
  ]) {
    await page.goto(`${server.url}/admin/${section}`);
    await page.locator(".admin-body h1").waitFor();
    // The section renders its spinners with its heading; once they are gone its listings are in.
    await page.waitForFunction(() => document.querySelector(".admin-body .spinner") === null);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 375, `/admin/${section} is ${width} px wide`);
    // Each section's listings loaded: no error box (a wrong path or field would show one).
    assert.equal(await page.getByRole("alert").count(), 0, `/admin/${section} shows an error`);
  }
  assert.deepEqual(errors, []);
  await chunk;
  // The users listing shows both accounts.
  await page.goto(`${server.url}/admin/users`);
  await page.locator("tbody tr", { hasText: "bob" }).waitFor();
  assert.equal(await page.locator("tbody tr").count(), 2);
  await page.context().close();
});
