/**
 * Immutable-tag rules through the admin API and `wharf immutable ls|add|rm`: validation with clear
 * messages (exit 2), administrators only, and the audit log (rule changes, refused pushes and deletes).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import {
  ADMIN,
  adminCall,
  basic,
  createUser,
  addRule,
  digest,
  imageManifest,
  MANIFEST_TYPE,
  pushBlob,
  sleep,
  startAuthServer,
  type AuthServer,
} from "./support.js";
import { cliHome, type CliHome, type CliResult } from "../client/cli.js";
import { startWharf } from "../helpers/server.js";
import { backendOf, queryMetadata } from "../helpers/backends.js";

const BOB = { name: "bob", password: "bob-password-1" };

interface Rule {
  name: string;
  repositories: string;
  tags: string;
  kind: string;
  createdBy: string;
  createdAt: string;
}

interface ErrorBody {
  errors: { code: string; message: string }[];
}

function show(r: CliResult): string {
  return `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}

function ok(r: CliResult): CliResult {
  assert.equal(r.code, 0, show(r));
  return r;
}

function json<T>(r: CliResult): T {
  return JSON.parse(ok(r).stdout) as T;
}

async function freshManifest(url: string, repo: string, auth: string): Promise<Buffer> {
  const config = await pushBlob(url, repo, Buffer.from(`{"n":"${randomBytes(4).toString("hex")}"}`), auth);
  return imageManifest(config, await pushBlob(url, repo, randomBytes(16), auth));
}

function put(url: string, repo: string, reference: string, body: Buffer, auth: string) {
  return fetch(`${url}/v2/${repo}/manifests/${reference}`, {
    method: "PUT",
    headers: { ...(auth ? { Authorization: auth } : {}), "Content-Type": MANIFEST_TYPE },
    body: new Uint8Array(body),
  });
}

describe("immutable-tag rules: admin API and CLI", () => {
  let server: AuthServer;
  let admin: CliHome;
  let bob: CliHome;
  const reg = () => ["--registry", server.server.host];

  before(async () => {
    server = await startAuthServer();
    await createUser(server.url, BOB.name, BOB.password);
    await addRule(server.url, "user:bob", "**", ["pull", "push", "delete"]);
    admin = await cliHome();
    bob = await cliHome();
    ok(
      await admin.run(["login", server.server.host, "-u", ADMIN.name, "--password-stdin"], {
        input: ADMIN.password,
      }),
    );
    ok(
      await bob.run(["login", server.server.host, "-u", BOB.name, "--password-stdin"], {
        input: BOB.password,
      }),
    );
  });
  after(async () => {
    await server?.stop();
    await admin?.cleanup();
    await bob?.cleanup();
  });

  test("wharf immutable (ls) shows the default rule, as a table and as JSON", async () => {
    const table = ok(await admin.run(["immutable", ...reg()]));
    assert.match(table.stdout, /^NAME\s+REPOSITORIES\s+TAGS\s+KIND\s+BY$/m);
    assert.match(table.stdout, /^semver\s+\*\*\s+semver\s+semver\s+wharf$/m);
    const rules = json<Rule[]>(await admin.run(["immutable", "ls", ...reg(), "--json"]));
    assert.deepEqual(
      rules.map((r) => [r.name, r.repositories, r.tags, r.kind]),
      [["semver", "**", "semver", "semver"]],
    );
  });

  test("add (glob by default, --regex, the semver keyword) and rm; the rules apply at once", async () => {
    const added = json<Rule>(
      await admin.run(["immutable", "add", "releases", "team/**", "release-*", ...reg(), "--json"]),
    );
    assert.deepEqual(
      [added.name, added.repositories, added.tags, added.kind, added.createdBy],
      ["releases", "team/**", "release-*", "glob", "admin"],
    );
    const regex = ok(
      await admin.run(["immutable", "add", "dated", "**", "--regex", "\\d{8}-[0-9a-f]{7}", ...reg()]),
    );
    assert.equal(regex.stdout.trim(), "dated");
    assert.match(regex.stderr, /immutable in \*\*/);
    ok(await admin.run(["immutable", "add", "team-versions", "team/**", "semver", ...reg()]));
    const rules = json<Rule[]>(await admin.run(["immutable", ...reg(), "--json"]));
    assert.deepEqual(
      rules.map((r) => `${r.name}:${r.kind}`),
      ["semver:semver", "releases:glob", "dated:regex", "team-versions:semver"],
    );

    // The glob rule is enforced for bob's pushes at once.
    const auth = basic(BOB);
    const repo = "team/app";
    await (
      await put(server.url, repo, "release-3", await freshManifest(server.url, repo, auth), auth)
    ).arrayBuffer();
    const refused = await put(
      server.url,
      repo,
      "release-3",
      await freshManifest(server.url, repo, auth),
      auth,
    );
    assert.equal(refused.status, 403);
    const body = (await refused.json()) as ErrorBody;
    assert.equal(
      body.errors[0]?.message,
      "tag release-3 is immutable (rule 'releases' on 'team/**'); push a new version instead",
    );

    ok(await admin.run(["immutable", "rm", "releases", ...reg()]));
    ok(await admin.run(["immutable", "rm", "dated", ...reg()]));
    ok(await admin.run(["immutable", "rm", "team-versions", ...reg()]));
    const moved = await put(server.url, repo, "release-3", await freshManifest(server.url, repo, auth), auth);
    assert.equal(moved.status, 201, "movable once its rule is removed");
    await moved.arrayBuffer();

    const missing = await admin.run(["immutable", "rm", "releases", ...reg()]);
    assert.equal(missing.code, 3, show(missing));
    assert.match(missing.stderr, /no immutable-tag rule named releases/);
  });

  test("invalid rules are refused with clear messages (exit 2) and nothing is created", async () => {
    const cases: { args: string[]; message: RegExp }[] = [
      { args: ["Bad Name", "**", "v*"], message: /invalid rule name "Bad Name"/ },
      { args: ["x", "team/../y", "v*"], message: /invalid repository pattern/ },
      { args: ["x", "team/{a", "v*"], message: /invalid repository pattern "team\/\{a": unbalanced '\{'/ },
      { args: ["x", "**", "v*/x"], message: /invalid tag glob/ },
      { args: ["x", "**", "--regex", "(a"], message: /invalid tag regex "\(a": missing closing \)/ },
      // Go's (RE2's) syntax, run in linear time: what would need backtracking is refused.
      { args: ["x", "**", "--regex", "(a)\\1"], message: /invalid escape sequence: `\\1`/ },
      { args: ["x", "**", "--regex", "(?=a)a"], message: /invalid or unsupported Perl syntax/ },
      { args: ["x", "**", "--regex", "a{1,1001}"], message: /invalid repeat count/ },
      { args: ["x", "**", "--regex", "a".repeat(257)], message: /longer than 256 characters/ },
      { args: ["x", "**", "v*", "--glob", "--regex"], message: /not both/ },
    ];
    for (const c of cases) {
      const result = await admin.run(["immutable", "add", ...c.args, ...reg()]);
      assert.equal(result.code, 2, `${c.args.join(" ")}: ${show(result)}`);
      assert.match(result.stderr, c.message, c.args.join(" "));
    }
    // Straight through the API: a kind of semver takes only the keyword; unknown kinds are named.
    for (const [body, message] of [
      [{ name: "x", repositories: "**", tags: "v*", kind: "semver" }, /takes the tag pattern "semver"/],
      [{ name: "x", repositories: "**", tags: "v*", kind: "exact" }, /invalid kind "exact"/],
      [{ name: "x", repositories: "**" }, /tags must be a non-empty string/],
    ] as const) {
      const res = await adminCall(server.url, "POST", "/immutable", body);
      assert.equal(res.status, 400);
      const error = ((await res.json()) as ErrorBody).errors[0];
      assert.equal(error?.code, "INVALID_REQUEST");
      assert.match(error?.message ?? "", message);
    }
    const duplicate = await admin.run(["immutable", "add", "semver", "**", "semver", ...reg()]);
    assert.notEqual(duplicate.code, 0, show(duplicate));
    assert.match(duplicate.stderr, /a rule named semver exists already/);
    const res = await adminCall(server.url, "POST", "/immutable", {
      name: "semver",
      repositories: "**",
      tags: "semver",
    });
    assert.equal(res.status, 409);
    await res.arrayBuffer();

    const rules = json<Rule[]>(await admin.run(["immutable", ...reg(), "--json"]));
    assert.deepEqual(
      rules.map((r) => r.name),
      ["semver"],
    );
  });

  test("only administrators manage rules: a user who may push and delete gets 403 (exit 4)", async () => {
    for (const args of [
      ["immutable"],
      ["immutable", "add", "mine", "**", "v*"],
      ["immutable", "rm", "semver"],
    ]) {
      const result = await bob.run([...args, ...reg()]);
      assert.equal(result.code, 4, `${args.join(" ")}: ${show(result)}`);
    }
    for (const [method, path, body] of [
      ["GET", "/immutable", undefined],
      ["POST", "/immutable", { name: "mine", repositories: "**", tags: "v*" }],
      ["DELETE", "/immutable/semver", undefined],
    ] as const) {
      const res = await adminCall(server.url, method, path, body, BOB);
      assert.equal(res.status, 403, `${method} ${path}`);
      assert.equal(((await res.json()) as ErrorBody).errors[0]?.code, "DENIED");
    }
    const rules = json<Rule[]>(await admin.run(["immutable", ...reg(), "--json"]));
    assert.deepEqual(
      rules.map((r) => r.name),
      ["semver"],
    );
  });

  test("the audit log has rule changes and refused pushes and deletes (repeats folded)", async () => {
    ok(await admin.run(["immutable", "add", "audited", "audit/**", "keep-*", ...reg()]));
    ok(await admin.run(["immutable", "rm", "audited", ...reg()]));
    const auth = basic(BOB);
    const repo = "audit/app";
    const first = await freshManifest(server.url, repo, auth);
    assert.equal((await put(server.url, repo, "v3.0.0", first, auth)).status, 201);
    for (let i = 0; i < 3; i++) {
      const res = await put(server.url, repo, "v3.0.0", await freshManifest(server.url, repo, auth), auth);
      assert.equal(res.status, 403);
      await res.arrayBuffer();
    }
    const del = await fetch(`${server.url}/v2/${repo}/manifests/${digest(first)}`, {
      method: "DELETE",
      headers: { Authorization: auth },
    });
    assert.equal(del.status, 403);
    await del.arrayBuffer();

    const events = json<
      {
        action: string;
        actor: string;
        target: string;
        outcome: string;
        repository: string | null;
        detail: Record<string, unknown> | null;
      }[]
    >(await admin.run(["audit", ...reg(), "--json", "-n", "1000"]));
    const add = events.find((e) => e.action === "immutable.add" && e.target === "audited");
    assert.equal(add?.actor, "admin");
    assert.deepEqual(add?.detail, { repositories: "audit/**", tags: "keep-*", kind: "glob" });
    assert.ok(
      events.some((e) => e.action === "immutable.remove" && e.target === "audited" && e.actor === "admin"),
    );
    const refusedPushes = events.filter(
      (e) => e.action === "manifest.push" && e.outcome === "denied" && e.repository === repo,
    );
    assert.equal(refusedPushes.length, 1, "three refusals of one push, folded into one record");
    assert.equal(refusedPushes[0]?.actor, "bob");
    assert.equal(refusedPushes[0]?.target, "v3.0.0");
    assert.deepEqual(refusedPushes[0]?.detail, { reason: "immutable (rule 'semver')" });
    const refusedDelete = events.find(
      (e) => e.action === "manifest.delete" && e.outcome === "denied" && e.repository === repo,
    );
    assert.equal(refusedDelete?.target, "v3.0.0");
  });
});

describe("immutable-tag rules on a registry without accounts", () => {
  test("wharf immutable --data-dir lists, removes and adds rules in the database; the server follows", async () => {
    const server = await startWharf();
    const home = await cliHome();
    try {
      const local = async (args: string[]) =>
        home.run([...args, "--data-dir", server.dataDir], { env: await backendOf(server.dataDir) });
      const rules = json<Rule[]>(await local(["immutable", "--json"]));
      assert.deepEqual(
        rules.map((r) => r.name),
        ["semver"],
      );
      const repo = "open/app";
      const push = async (tag: string) => {
        const res = await put(server.url, repo, tag, await freshManifest(server.url, repo, ""), "");
        await res.arrayBuffer();
        return res.status;
      };
      assert.equal(await push("v1.0.0"), 201);
      assert.equal(await push("v1.0.0"), 403);

      ok(await local(["immutable", "rm", "semver"]));
      // The server polls the rules' change counter every 250 ms: 20 tries 50 ms apart is a second.
      let moved = false;
      for (let i = 0; i < 20 && !moved; i++) {
        moved = (await push("v1.0.0")) === 201;
        if (!moved) await sleep(50);
      }
      assert.ok(moved, "the server dropped the rule removed in its database within a second");

      ok(await local(["immutable", "add", "pinned", "open/**", "pin-*"]));
      const missing = await local(["immutable", "rm", "nope"]);
      assert.equal(missing.code, 3, show(missing));
      const invalid = await local(["immutable", "add", "x", "**", "--regex", "(a"]);
      assert.equal(invalid.code, 2, show(invalid));
      assert.match(invalid.stderr, /invalid tag regex/);
      assert.deepEqual(
        json<Rule[]>(await local(["immutable", "--json"])).map((r) => [r.name, r.createdBy]),
        [["pinned", "local"]],
      );
      const audited = await queryMetadata<{ action: string; target: string }>(
        server.dataDir,
        "select action, target from audit_events where actor = 'local' order by seq",
      );
      assert.deepEqual(
        audited.map((e) => `${e.action} ${e.target}`),
        ["immutable.remove semver", "immutable.add pinned"],
      );
    } finally {
      await home.cleanup();
      await server.stop();
    }
  });
});
