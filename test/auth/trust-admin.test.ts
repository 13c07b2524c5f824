/**
 * Trusted keys and trust policies through the admin API and `wharf trust key|policy add|ls|rm`:
 * validation with clear messages, administrators only, the audit log, and the --data-dir path for a
 * registry without accounts.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ADMIN, adminCall, createUser, startAuthServer, type AuthServer } from "./support.js";
import { cliHome, type CliHome, type CliResult } from "../client/cli.js";
import { startWharf } from "../helpers/server.js";

const BOB = { name: "bob", password: "bob-password-1" };

interface Key {
  name: string;
  fingerprint: string;
  publicKey: string;
  certificate: string | null;
  createdBy: string;
}

interface Policy {
  name: string;
  repositories: string;
  keys: string[];
  mode: string;
  createdBy: string;
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

function publicKeyPem(): string {
  const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return publicKey.export({ type: "spki", format: "pem" }).toString();
}

async function errorOf(res: Response, status: number): Promise<string> {
  const body = (await res.json()) as ErrorBody;
  assert.equal(res.status, status, JSON.stringify(body));
  return body.errors.map((e) => `${e.code}: ${e.message}`).join("; ");
}

describe("trust keys and policies: admin API and CLI", () => {
  let server: AuthServer;
  let admin: CliHome;
  let work: string;
  const reg = () => ["--registry", server.server.host];

  before(async () => {
    server = await startAuthServer();
    await createUser(server.url, BOB.name, BOB.password);
    admin = await cliHome();
    work = await mkdtemp(join(tmpdir(), "wharf-trust-"));
    ok(
      await admin.run(["login", server.server.host, "-u", ADMIN.name, "--password-stdin"], {
        input: ADMIN.password,
      }),
    );
  });
  after(async () => {
    await server?.stop();
    await admin?.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  test("the API: add, list and remove keys and policies; bad input is a clear 400/404/409", async () => {
    const pem = publicKeyPem();
    const created = await adminCall(server.url, "POST", "/trust/keys", { name: "api-key", publicKey: pem });
    assert.equal(created.status, 201);
    const key = (await created.json()) as Key;
    assert.equal(key.name, "api-key");
    assert.match(key.fingerprint, /^[0-9a-f]{64}$/);
    assert.match(key.publicKey, /^-----BEGIN PUBLIC KEY-----/);
    assert.equal(key.createdBy, ADMIN.name);

    const duplicate = await adminCall(server.url, "POST", "/trust/keys", { name: "other", publicKey: pem });
    assert.match(await errorOf(duplicate, 409), /registered already, as api-key/);
    const sameName = await adminCall(server.url, "POST", "/trust/keys", {
      name: "api-key",
      publicKey: publicKeyPem(),
    });
    assert.match(await errorOf(sameName, 409), /exists already/);
    const garbage = await adminCall(server.url, "POST", "/trust/keys", { name: "bad", publicKey: "hello" });
    assert.match(await errorOf(garbage, 400), /INVALID_REQUEST/);
    const badName = await adminCall(server.url, "POST", "/trust/keys", { name: "Bad Name", publicKey: pem });
    assert.match(await errorOf(badName, 400), /invalid key name/);

    const unknownKey = await adminCall(server.url, "POST", "/trust/policies", {
      name: "p1",
      repositories: "prod/**",
      keys: ["nope"],
      mode: "enforce",
    });
    assert.match(await errorOf(unknownKey, 400), /no trusted key named nope/);
    const badMode = await adminCall(server.url, "POST", "/trust/policies", {
      name: "p1",
      repositories: "prod/**",
      keys: ["api-key"],
      mode: "strict",
    });
    assert.match(await errorOf(badMode, 400), /use warn or enforce/);
    const badGlob = await adminCall(server.url, "POST", "/trust/policies", {
      name: "p1",
      repositories: "Prod/../x",
      keys: ["api-key"],
      mode: "warn",
    });
    assert.match(await errorOf(badGlob, 400), /invalid repository pattern/);
    const noKeys = await adminCall(server.url, "POST", "/trust/policies", {
      name: "p1",
      repositories: "prod/**",
      keys: [],
      mode: "warn",
    });
    assert.match(await errorOf(noKeys, 400), /at least one key/);

    const policy = await adminCall(server.url, "POST", "/trust/policies", {
      name: "p1",
      repositories: "prod/**",
      keys: ["api-key", "api-key"],
      mode: "enforce",
    });
    assert.equal(policy.status, 201);
    assert.deepEqual(((await policy.json()) as Policy).keys, ["api-key"]);
    const listed = (await (await adminCall(server.url, "GET", "/trust/policies")).json()) as {
      policies: Policy[];
    };
    assert.deepEqual(
      listed.policies.map((p) => [p.name, p.repositories, p.keys, p.mode]),
      [["p1", "prod/**", ["api-key"], "enforce"]],
    );

    assert.equal((await adminCall(server.url, "DELETE", "/trust/policies/p1")).status, 204);
    assert.equal((await adminCall(server.url, "DELETE", "/trust/keys/api-key")).status, 204);
    assert.match(
      await errorOf(await adminCall(server.url, "DELETE", "/trust/keys/api-key"), 404),
      /NOT_FOUND/,
    );
    const keys = (await (await adminCall(server.url, "GET", "/trust/keys")).json()) as { keys: Key[] };
    assert.deepEqual(keys.keys, []);

    // Audited with the administrator as actor.
    const audit = (await (await adminCall(server.url, "GET", "/audit?action=trust.key.add")).json()) as {
      events: { actor: string; target: string; action: string }[];
    };
    assert.ok(audit.events.some((e) => e.actor === ADMIN.name && e.target === "api-key"));
    for (const action of ["trust.policy.add", "trust.policy.remove", "trust.key.remove"]) {
      const events = (await (await adminCall(server.url, "GET", `/audit?action=${action}`)).json()) as {
        events: unknown[];
      };
      assert.equal(events.events.length, 1, action);
    }
  });

  test("only administrators manage trust", async () => {
    for (const [method, path] of [
      ["GET", "/trust/keys"],
      ["POST", "/trust/keys"],
      ["DELETE", "/trust/keys/x"],
      ["GET", "/trust/policies"],
      ["POST", "/trust/policies"],
      ["DELETE", "/trust/policies/x"],
    ] as const) {
      const res = await adminCall(server.url, method, path, method === "POST" ? {} : undefined, BOB);
      assert.equal(res.status, 403, `${method} ${path}`);
      await res.arrayBuffer();
      const anonymous = await fetch(`${server.url}/api/v1${path}`, {
        method,
        ...(method === "POST" ? { headers: { "Content-Type": "application/json" }, body: "{}" } : {}),
      });
      assert.equal(anonymous.status, 401, `${method} ${path} anonymous`);
      await anonymous.arrayBuffer();
    }
  });

  test("wharf trust key add|ls|rm and policy add|ls|rm", async () => {
    const file = join(work, "ci.pub");
    await writeFile(file, publicKeyPem());
    const added = ok(await admin.run(["trust", "key", "add", "ci", file, ...reg()]));
    assert.equal(added.stdout.trim(), "ci");
    assert.match(added.stderr, /Trusted key ci \(sha256:[0-9a-f]{64}\)/);
    const table = ok(await admin.run(["trust", "key", "ls", ...reg()]));
    assert.match(table.stdout, /^NAME\s+FINGERPRINT\s+FROM\s+ADDED\s+BY$/m);
    assert.match(table.stdout, /^ci\s+[0-9a-f]{16}\s+public key\s+\d{4}-\d\d-\d\d\s+admin$/m);

    const policy = json<Policy>(
      await admin.run([
        "trust",
        "policy",
        "add",
        "prod",
        "--repositories",
        "prod/**",
        "--key",
        "ci",
        "--mode",
        "enforce",
        "--json",
        ...reg(),
      ]),
    );
    assert.deepEqual(
      [policy.name, policy.repositories, policy.keys, policy.mode],
      ["prod", "prod/**", ["ci"], "enforce"],
    );
    const policies = ok(await admin.run(["trust", "policy", ...reg()]));
    assert.match(policies.stdout, /^prod\s+prod\/\*\*\s+ci\s+enforce\s+admin$/m);

    const badMode = await admin.run([
      "trust",
      "policy",
      "add",
      "x",
      "--repositories",
      "**",
      "--key",
      "ci",
      "--mode",
      "on",
      ...reg(),
    ]);
    assert.equal(badMode.code, 2, show(badMode));
    assert.match(badMode.stderr, /--mode on: use warn or enforce/);
    const unknown = await admin.run([
      "trust",
      "policy",
      "add",
      "x",
      "--repositories",
      "**",
      "--key",
      "typo",
      "--mode",
      "warn",
      ...reg(),
    ]);
    assert.equal(unknown.code, 2, show(unknown));
    assert.match(unknown.stderr, /no trusted key named typo/);
    const notAKey = await admin.run(["trust", "key", "add", "x", join(work, "missing.pub"), ...reg()]);
    assert.equal(notAKey.code, 2, show(notAKey));
    assert.match(notAKey.stderr, /cannot read .*missing\.pub/);

    const removed = ok(await admin.run(["trust", "key", "rm", "ci", ...reg()]));
    assert.match(removed.stderr, /Policies still naming it: prod/);
    ok(await admin.run(["trust", "policy", "rm", "prod", ...reg()]));
    assert.deepEqual(json<Policy[]>(await admin.run(["trust", "policy", "ls", "--json", ...reg()])), []);
    const missing = await admin.run(["trust", "policy", "rm", "prod", ...reg()]);
    assert.equal(missing.code, 3, show(missing));
  });
});

describe("wharf trust --data-dir: a registry without accounts", () => {
  test("keys and policies go straight into the database; a running server uses them", async () => {
    const home = await cliHome();
    const work = await mkdtemp(join(tmpdir(), "wharf-trust-local-"));
    const dataDir = join(work, "data");
    try {
      const file = join(work, "release.pub");
      await writeFile(file, publicKeyPem());
      ok(await home.run(["trust", "key", "add", "release", file, "--data-dir", dataDir]));
      ok(
        await home.run([
          "trust",
          "policy",
          "add",
          "all",
          "--repositories",
          "**",
          "--key",
          "release",
          "--mode",
          "warn",
          "--data-dir",
          dataDir,
        ]),
      );
      const keys = json<Key[]>(await home.run(["trust", "key", "ls", "--json", "--data-dir", dataDir]));
      assert.deepEqual(
        keys.map((k) => [k.name, k.createdBy]),
        [["release", "local"]],
      );
      const server = await startWharf({ dataDir });
      try {
        // Without accounts the admin API is off, but the server serves what the database holds.
        const res = await fetch(`${server.url}/api/v1/trust/keys`);
        assert.notEqual(res.status, 200);
        await res.arrayBuffer();
      } finally {
        await server.stop({ keepData: true });
      }
      const policies = json<Policy[]>(
        await home.run(["trust", "policy", "ls", "--json", "--data-dir", dataDir]),
      );
      assert.deepEqual(
        policies.map((p) => [p.name, p.mode]),
        [["all", "warn"]],
      );
    } finally {
      await home.cleanup();
      await rm(work, { recursive: true, force: true });
    }
  });
});
