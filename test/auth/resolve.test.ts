/**
 * The resolve endpoint answers only what the caller may pull, as listing the repository's tags does:
 * anonymous callers by the `anonymous` rules, a repository the caller may not pull exactly as one that
 * does not exist (nothing tells them apart), and bad credentials a challenge.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  ADMIN,
  addRule,
  basic,
  bearer,
  createUser,
  getToken,
  startAuthServer,
  type AuthServer,
} from "./support.js";
import { seedTags } from "../helpers/tags.js";

describe("resolve endpoint: authorization", { timeout: 300_000 }, () => {
  let server: AuthServer;
  const reader = { name: "reader", password: "reader-password-1" };
  let publicDigest: string | undefined;
  let privateDigest: string | undefined;

  before(async () => {
    server = await startAuthServer();
    const headers = { Authorization: basic(ADMIN) };
    publicDigest = (await seedTags(server.url, "public/app", ["1.0.0", "1.1.0"], { headers })).get("1.1.0");
    privateDigest = (await seedTags(server.url, "team/app", ["2.0.0", "2.1.0"], { headers })).get("2.1.0");
    await seedTags(server.url, "secret/app", ["3.0.0"], { headers });
    await createUser(server.url, reader.name, reader.password);
    await addRule(server.url, "anonymous", "public/**", ["pull"]);
    await addRule(server.url, "user:reader", "team/**", ["pull"]);
  });

  after(async () => {
    await server?.stop();
  });

  async function call(repo: string, authorization?: string) {
    const res = await fetch(`${server.url}/api/v1/repositories/${repo}/resolve?semver=*`, {
      headers: authorization ? { Authorization: authorization } : {},
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** What a caller gets for a repository that does not exist, with the name swapped in. */
  async function missing(repo: string, authorization?: string) {
    const answer = await call(repo, authorization);
    assert.equal(answer.status, 404);
    return answer.body;
  }

  test("anonymous callers resolve what anonymous may pull", async () => {
    const answer = await call("public/app");
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.tag, "1.1.0");
    assert.equal(answer.body.digest, publicDigest);
  });

  test("a private repository answers anonymous callers as one that does not exist", async () => {
    const hidden = await call("team/app");
    assert.equal(hidden.status, 404);
    assert.deepEqual(
      JSON.stringify(hidden.body).replace("team/app", "NAME"),
      JSON.stringify(await missing("team/none")).replace("team/none", "NAME"),
    );
    assert.doesNotMatch(JSON.stringify(hidden.body), /2\.1\.0|sha256/);
  });

  test("a user resolves what their rules let them pull, and nothing else", async () => {
    const auth = basic(reader);
    const allowed = await call("team/app", auth);
    assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
    assert.equal(allowed.body.digest, privateDigest);
    // secret/** is in no rule of theirs: hidden from them like a missing repository.
    const hidden = await call("secret/app", auth);
    assert.equal(hidden.status, 404);
    assert.deepEqual(
      JSON.stringify(hidden.body).replace("secret/app", "NAME"),
      JSON.stringify(await missing("secret/none", auth)).replace("secret/none", "NAME"),
    );
    assert.doesNotMatch(JSON.stringify(hidden.body), /3\.0\.0|sha256/);
  });

  test("the administrator resolves everything", async () => {
    const answer = await call("team/app", basic(ADMIN));
    assert.equal(answer.status, 200);
    assert.equal(answer.body.tag, "2.1.0");
  });

  test("a token must cover the repository's pull scope", async () => {
    const token = await getToken(server.url, ["repository:team/app:pull"], reader);
    assert.equal((await call("team/app", bearer(token))).status, 200);
    const other = await getToken(server.url, ["repository:team/other:pull"], reader);
    assert.equal((await call("team/app", bearer(other))).status, 404);
  });

  test("wrong credentials are challenged, not treated as anonymous", async () => {
    const res = await fetch(`${server.url}/api/v1/repositories/public/app/resolve?semver=*`, {
      headers: { Authorization: basic({ name: reader.name, password: "wrong-password-9" }) },
    });
    await res.arrayBuffer();
    assert.equal(res.status, 401);
    assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer /);
  });
});
