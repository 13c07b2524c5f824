/**
 * Who may do what: every /v2/ endpoint against every kind of caller, with tokens and with Basic
 * credentials, plus mounts, tag overwrites, catalog filtering, pagination and revocation.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  ADMIN,
  accessOf,
  addRule,
  adminCall,
  basic,
  bearer,
  createRobot,
  createUser,
  digest,
  errorCodes,
  getToken,
  imageManifest,
  parseChallenge,
  pushBlob,
  pushImage,
  putManifest,
  randomHex,
  removeRule,
  requestToken,
  revokeRobot,
  sleep,
  startAuthServer,
  type AuthServer,
  type Credentials,
  type PushedImage,
} from "./support.js";
import { randomBytes } from "node:crypto";

const REPO = "team-a/app";
/** What every identity asks the token endpoint for; each gets only its permitted part. */
const ALL_SCOPES = [
  `repository:${REPO}:pull,push,delete`,
  "registry:catalog:*",
  "repository:team-b/other:pull",
];

type Requirement = "login" | "catalog" | "pull" | "push" | "delete";

let srv: AuthServer;
let url: string;
let image: PushedImage;
let srcImage: PushedImage;
let otherImage: PushedImage;
const adminAuth = basic(ADMIN);

const creds: Record<string, Credentials> = {};
const tokens: Record<string, string> = {};

before(async () => {
  // Failed Basic logins of the revoked and expired robots are part of the matrix: no lockout here.
  srv = await startAuthServer({ WHARF_MAX_FAILED_LOGINS: "10000" });
  url = srv.url;
  // The expiring robot first, so that its expiry passes while the rest is set up.
  const expiresAt = new Date(Date.now() + 2500).toISOString();
  creds.expired = await createRobot(url, "expiring", ["team-a/**"], ["pull", "push"], expiresAt);
  tokens.expired = await getToken(url, ALL_SCOPES, creds.expired);

  creds.reader = await createUser(url, "reader", "reader-password");
  creds.writer = await createUser(url, "writer", "writer-password");
  await addRule(url, "user:reader", "team-a/**", ["pull"]);
  await addRule(url, "user:writer", "team-a/**", ["pull", "push"]);
  creds.robot = await createRobot(url, "robot", ["team-a/**"], ["pull", "push"]);
  creds.revoked = await createRobot(url, "gone", ["team-a/**"], ["pull", "push"]);
  creds.admin = { ...ADMIN };

  for (const who of ["reader", "writer", "robot", "revoked", "admin"]) {
    tokens[who] = await getToken(url, ALL_SCOPES, creds[who]);
  }
  tokens.anonymous = await getToken(url, ALL_SCOPES);
  await revokeRobot(url, "gone");

  image = await pushImage(url, REPO, "v1", adminAuth);
  srcImage = await pushImage(url, "team-a/src", "v1", adminAuth);
  otherImage = await pushImage(url, "team-b/other", "v1", adminAuth);
  await pushImage(url, "public/pub", "v1", adminAuth);

  const wait = Date.parse(expiresAt) + 200 - Date.now();
  if (wait > 0) await sleep(wait);
});

after(async () => {
  await srv?.stop();
});

test("the token endpoint grants only the permitted subset of the requested scopes", () => {
  const catalog = { type: "registry", name: "catalog", actions: ["*"] };
  const repo = (actions: string[]) => ({ type: "repository", name: REPO, actions });
  const expected: Record<string, unknown[]> = {
    anonymous: [catalog],
    reader: [catalog, repo(["pull"])],
    writer: [catalog, repo(["pull", "push"])],
    robot: [catalog, repo(["pull", "push"])],
    expired: [catalog, repo(["pull", "push"])],
    admin: [
      catalog,
      repo(["delete", "pull", "push"]),
      { type: "repository", name: "team-b/other", actions: ["pull"] },
    ],
  };
  for (const [who, access] of Object.entries(expected)) {
    assert.deepEqual(accessOf(tokens[who] ?? ""), access, who);
  }
});

interface Prepared {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array<ArrayBuffer>;
}

interface Endpoint {
  name: string;
  requires: Requirement;
  /** The status of a permitted request. */
  ok: number;
  /** Builds the request; sets up (as the administrator) what a permitted request would change. */
  prepare(): Promise<Prepared>;
}

/** Opens an upload session as the administrator; returns its path and query. */
async function adminUploadSession(): Promise<string> {
  const res = await fetch(`${url}/v2/${REPO}/blobs/uploads/`, {
    method: "POST",
    headers: { Authorization: adminAuth },
  });
  await res.arrayBuffer();
  assert.equal(res.status, 202);
  const location = new URL(res.headers.get("location") ?? "", url);
  return location.pathname + location.search;
}

function withQuery(path: string, key: string, value: string): string {
  const u = new URL(path, url);
  u.searchParams.set(key, value);
  return u.pathname + u.search;
}

const octet = { "Content-Type": "application/octet-stream" };

const endpoints: Endpoint[] = [
  { name: "GET /v2/", requires: "login", ok: 200, prepare: async () => ({ method: "GET", path: "/v2/" }) },
  {
    name: "GET catalog",
    requires: "catalog",
    ok: 200,
    prepare: async () => ({ method: "GET", path: "/v2/_catalog" }),
  },
  {
    name: "GET tags list",
    requires: "pull",
    ok: 200,
    prepare: async () => ({ method: "GET", path: `/v2/${REPO}/tags/list` }),
  },
  {
    name: "GET manifest",
    requires: "pull",
    ok: 200,
    prepare: async () => ({ method: "GET", path: `/v2/${REPO}/manifests/v1` }),
  },
  {
    name: "HEAD manifest",
    requires: "pull",
    ok: 200,
    prepare: async () => ({ method: "HEAD", path: `/v2/${REPO}/manifests/${image.digest}` }),
  },
  {
    name: "PUT manifest",
    requires: "push",
    ok: 201,
    prepare: async () => ({
      method: "PUT",
      path: `/v2/${REPO}/manifests/t-${randomHex()}`,
      headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
      body: new Uint8Array(image.manifest),
    }),
  },
  {
    name: "DELETE manifest",
    requires: "delete",
    ok: 202,
    prepare: async () => {
      const body = imageManifest(image.config, image.layer, { nonce: randomHex() });
      const res = await putManifest(url, REPO, digest(body), body, adminAuth);
      await res.arrayBuffer();
      assert.equal(res.status, 201);
      return { method: "DELETE", path: `/v2/${REPO}/manifests/${digest(body)}` };
    },
  },
  {
    name: "GET blob",
    requires: "pull",
    ok: 200,
    prepare: async () => ({ method: "GET", path: `/v2/${REPO}/blobs/${image.layer.digest}` }),
  },
  {
    name: "HEAD blob",
    requires: "pull",
    ok: 200,
    prepare: async () => ({ method: "HEAD", path: `/v2/${REPO}/blobs/${image.config.digest}` }),
  },
  {
    name: "DELETE blob",
    requires: "delete",
    ok: 202,
    prepare: async () => {
      const blob = await pushBlob(url, REPO, randomBytes(16), adminAuth);
      return { method: "DELETE", path: `/v2/${REPO}/blobs/${blob.digest}` };
    },
  },
  {
    name: "POST upload",
    requires: "push",
    ok: 202,
    prepare: async () => ({ method: "POST", path: `/v2/${REPO}/blobs/uploads/` }),
  },
  {
    name: "PATCH upload",
    requires: "push",
    ok: 202,
    prepare: async () => ({
      method: "PATCH",
      path: await adminUploadSession(),
      headers: octet,
      body: new Uint8Array(randomBytes(8)),
    }),
  },
  {
    name: "PUT upload",
    requires: "push",
    ok: 201,
    prepare: async () => {
      const data = randomBytes(8);
      return {
        method: "PUT",
        path: withQuery(await adminUploadSession(), "digest", digest(data)),
        headers: octet,
        body: new Uint8Array(data),
      };
    },
  },
  {
    name: "GET upload",
    requires: "push",
    ok: 204,
    prepare: async () => ({ method: "GET", path: await adminUploadSession() }),
  },
  {
    name: "DELETE upload",
    requires: "push",
    ok: 204,
    prepare: async () => ({ method: "DELETE", path: await adminUploadSession() }),
  },
  {
    name: "GET referrers",
    requires: "pull",
    ok: 200,
    prepare: async () => ({ method: "GET", path: `/v2/${REPO}/referrers/${image.digest}` }),
  },
];

/** The scope a challenge names for a requirement on REPO (push asks for pull too). */
function scopeFor(requirement: Requirement): string | undefined {
  if (requirement === "login") return undefined;
  if (requirement === "catalog") return "registry:catalog:*";
  return `repository:${REPO}:${requirement === "push" ? "pull,push" : requirement}`;
}

type Mode = "none" | "bearer" | "basic";

interface Caller {
  who: string;
  mode: Mode;
  /** What the account may do on REPO; undefined for an account that no longer works. */
  may: Requirement[] | undefined;
}

const everything: Requirement[] = ["login", "catalog", "pull", "push", "delete"];
const callers: Caller[] = [
  { who: "nobody", mode: "none", may: [] },
  { who: "anonymous", mode: "bearer", may: ["login", "catalog"] },
  ...(["bearer", "basic"] as const).flatMap((mode): Caller[] => [
    { who: "reader", mode, may: ["login", "catalog", "pull"] },
    { who: "writer", mode, may: ["login", "catalog", "pull", "push"] },
    { who: "robot", mode, may: ["login", "catalog", "pull", "push"] },
    { who: "admin", mode, may: everything },
    { who: "revoked", mode, may: undefined },
    { who: "expired", mode, may: undefined },
  ]),
];

function authorization(caller: Caller): Record<string, string> {
  if (caller.mode === "none") return {};
  if (caller.mode === "bearer") return { Authorization: bearer(tokens[caller.who] ?? "") };
  return { Authorization: basic(creds[caller.who] ?? { name: "", password: "" }) };
}

/** Checks one answer; returns a description of what is wrong, or undefined. */
async function judge(caller: Caller, endpoint: Endpoint, res: Response): Promise<string | undefined> {
  const allowed = caller.may?.includes(endpoint.requires) ?? false;
  const challenge = res.headers.get("www-authenticate");
  const codes = endpoint.name.startsWith("HEAD") ? undefined : await errorCodes(res);
  const got = `${res.status} ${challenge ?? ""} ${JSON.stringify(codes ?? [])}`;
  if (allowed) return res.status === endpoint.ok ? undefined : `expected ${endpoint.ok}, got ${got}`;

  // Basic credentials of a working account that lack the permission: 403 DENIED.
  if (caller.mode === "basic" && caller.may !== undefined) {
    if (res.status !== 403 || (codes && !codes.includes("DENIED"))) return `expected 403 DENIED, got ${got}`;
    return undefined;
  }
  // Everything else is a 401 with a Bearer challenge naming the scope.
  const error =
    caller.mode === "none" || caller.mode === "basic"
      ? undefined
      : caller.may === undefined
        ? "invalid_token"
        : "insufficient_scope";
  if (res.status !== 401 || (codes && !codes.includes("UNAUTHORIZED"))) {
    return `expected 401 UNAUTHORIZED, got ${got}`;
  }
  const params = challenge?.startsWith("Bearer ") ? parseChallenge(challenge) : undefined;
  const want = { realm: `${url}/auth/token`, service: "wharf", scope: scopeFor(endpoint.requires), error };
  const have = {
    realm: params?.realm,
    service: params?.service,
    scope: params?.scope,
    error: params?.error,
  };
  if (JSON.stringify(have) !== JSON.stringify(want)) {
    return `expected challenge ${JSON.stringify(want)}, got ${JSON.stringify(challenge)}`;
  }
  return undefined;
}

for (const caller of callers) {
  const label =
    caller.mode === "none"
      ? "no credentials"
      : `${caller.who} with ${caller.mode === "bearer" ? "a token" : "Basic credentials"}`;
  test(`access matrix: ${label}`, async () => {
    const problems: string[] = [];
    let allowedCount = 0;
    for (const endpoint of endpoints) {
      const prepared = await endpoint.prepare();
      const res = await fetch(`${url}${prepared.path}`, {
        method: prepared.method,
        headers: { ...prepared.headers, ...authorization(caller) },
        body: prepared.body,
      });
      if (caller.may?.includes(endpoint.requires)) allowedCount++;
      const problem = await judge(caller, endpoint, res);
      if (problem) problems.push(`${endpoint.name}: ${problem}`);
    }
    assert.deepEqual(problems, []);
    assert.equal(allowedCount, endpoints.filter((e) => caller.may?.includes(e.requires)).length);
  });
}

test("a token without the scope is refused even where the account's rules allow it", async () => {
  const pullOnly = await getToken(url, [`repository:${REPO}:pull`], creds.writer);
  assert.deepEqual(accessOf(pullOnly), [{ type: "repository", name: REPO, actions: ["pull"] }]);
  const put = await putManifest(url, REPO, "scoped", image.manifest, bearer(pullOnly));
  assert.equal(put.status, 401);
  assert.equal(parseChallenge(put.headers.get("www-authenticate")).error, "insufficient_scope");
  assert.deepEqual(await errorCodes(put), ["UNAUTHORIZED"]);

  // The token names team-a/app; team-a/src is allowed by the rules but not in the token.
  const other = await fetch(`${url}/v2/team-a/src/manifests/v1`, {
    headers: { Authorization: bearer(tokens.writer ?? "") },
  });
  await other.arrayBuffer();
  assert.equal(other.status, 401);
  const challenge = parseChallenge(other.headers.get("www-authenticate"));
  assert.equal(challenge.error, "insufficient_scope");
  assert.equal(challenge.scope, "repository:team-a/src:pull");

  // Without a catalog scope, the catalog is refused too.
  const catalog = await fetch(`${url}/v2/_catalog`, { headers: { Authorization: bearer(pullOnly) } });
  assert.equal(catalog.status, 401);
  assert.equal(parseChallenge(catalog.headers.get("www-authenticate")).error, "insufficient_scope");
  await catalog.arrayBuffer();
});

test("Basic credentials outside the account's repositories are denied with 403", async () => {
  for (const who of ["reader", "writer", "robot"]) {
    const auth = basic(creds[who] ?? ADMIN);
    const get = await fetch(`${url}/v2/team-b/other/manifests/v1`, { headers: { Authorization: auth } });
    assert.equal(get.status, 403, who);
    assert.deepEqual(await errorCodes(get), ["DENIED"]);
    const push = await fetch(`${url}/v2/team-b/other/blobs/uploads/`, {
      method: "POST",
      headers: { Authorization: auth },
    });
    assert.equal(push.status, 403, who);
    assert.deepEqual(await errorCodes(push), ["DENIED"]);
  }
  // Wrong password: a challenge, not a 403.
  const wrong = await fetch(`${url}/v2/${REPO}/tags/list`, {
    headers: { Authorization: basic({ name: "reader", password: "not-the-password" }) },
  });
  assert.equal(wrong.status, 401);
  assert.equal(parseChallenge(wrong.headers.get("www-authenticate")).scope, `repository:${REPO}:pull`);
  await wrong.arrayBuffer();
});

/** Starts an upload with a mount request; returns status, headers and whether it created a blob. */
async function mount(target: string, blob: string, from: string, auth: string) {
  const res = await fetch(`${url}/v2/${target}/blobs/uploads/?mount=${blob}&from=${from}`, {
    method: "POST",
    headers: { Authorization: auth },
  });
  const body = await res.text();
  return { status: res.status, location: res.headers.get("location") ?? "", headers: res.headers, body };
}

async function blobStatus(repo: string, blob: string): Promise<number> {
  const res = await fetch(`${url}/v2/${repo}/blobs/${blob}`, {
    method: "HEAD",
    headers: { Authorization: adminAuth },
  });
  return res.status;
}

test("a mount without pull on the source is an ordinary upload that reveals nothing", async () => {
  const secret = otherImage.layer.digest;
  const writer = basic(creds.writer ?? ADMIN);
  const denied = await mount("team-a/dst", secret, "team-b/other", writer);
  assert.equal(denied.status, 202, denied.body);
  assert.match(denied.location, /^\/v2\/team-a\/dst\/blobs\/uploads\/[^/?]+/);
  assert.equal(denied.headers.get("docker-content-digest"), null);
  assert.equal(await blobStatus("team-a/dst", secret), 404, "nothing was mounted");

  // The same answer as for a blob that does not exist anywhere, or a source that does not exist.
  const missing = await mount("team-a/dst", digest(randomHex()), "team-b/other", writer);
  const noRepo = await mount("team-a/dst", secret, "team-b/nothing", writer);
  for (const other of [missing, noRepo]) {
    assert.equal(other.status, denied.status);
    assert.deepEqual([...other.headers.keys()].sort(), [...denied.headers.keys()].sort());
    assert.equal(other.body, denied.body);
  }

  // With a token: the source scope is asked for but not granted, so again an ordinary upload.
  const token = await getToken(
    url,
    ["repository:team-a/dst:pull,push", "repository:team-b/other:pull"],
    creds.writer,
  );
  assert.deepEqual(accessOf(token), [{ type: "repository", name: "team-a/dst", actions: ["pull", "push"] }]);
  const viaToken = await mount("team-a/dst", secret, "team-b/other", bearer(token));
  assert.equal(viaToken.status, 202);
  assert.equal(await blobStatus("team-a/dst", secret), 404);

  // The session it opened is a real upload session for the target.
  const session = await fetch(new URL(denied.location, url), { headers: { Authorization: writer } });
  assert.equal(session.status, 204);
  await session.arrayBuffer();
});

test("a mount with pull on the source creates the blob (201)", async () => {
  const blob = srcImage.layer.digest;
  // Rules allow team-a/src, but a token must name it as well.
  const narrow = await getToken(url, ["repository:team-a/dst2:pull,push"], creds.writer);
  const refused = await mount("team-a/dst2", blob, "team-a/src", bearer(narrow));
  assert.equal(refused.status, 202);
  assert.equal(await blobStatus("team-a/dst2", blob), 404);

  const wide = await getToken(
    url,
    ["repository:team-a/dst2:pull,push", "repository:team-a/src:pull"],
    creds.writer,
  );
  const viaToken = await mount("team-a/dst2", blob, "team-a/src", bearer(wide));
  assert.equal(viaToken.status, 201, viaToken.body);
  assert.equal(viaToken.location, `/v2/team-a/dst2/blobs/${blob}`);
  assert.equal(viaToken.headers.get("docker-content-digest"), blob);
  assert.equal(await blobStatus("team-a/dst2", blob), 200);

  const viaBasic = await mount(
    "team-a/dst",
    srcImage.config.digest,
    "team-a/src",
    basic(creds.writer ?? ADMIN),
  );
  assert.equal(viaBasic.status, 201, viaBasic.body);

  // The administrator may pull from everywhere, so may mount from team-b.
  const byAdmin = await mount("team-a/dst", otherImage.layer.digest, "team-b/other", adminAuth);
  assert.equal(byAdmin.status, 201, byAdmin.body);
});

async function tagDigest(repo: string, tag: string): Promise<string | null> {
  const res = await fetch(`${url}/v2/${repo}/manifests/${tag}`, {
    method: "HEAD",
    headers: { Authorization: adminAuth, Accept: "application/vnd.oci.image.manifest.v1+json" },
  });
  assert.equal(res.status, 200);
  return res.headers.get("docker-content-digest");
}

test("a pull-only robot cannot overwrite a tag; a writer may overwrite any tag, latest included", async () => {
  const ro = await createRobot(url, "ro", ["team-a/**"], ["pull"]);
  const replacement = imageManifest(image.config, image.layer, { replaced: "yes" });

  const viaBasic = await putManifest(url, REPO, "v1", replacement, basic(ro));
  assert.equal(viaBasic.status, 403);
  assert.deepEqual(await errorCodes(viaBasic), ["DENIED"]);

  const token = await getToken(url, [`repository:${REPO}:pull,push`], ro);
  assert.deepEqual(accessOf(token), [{ type: "repository", name: REPO, actions: ["pull"] }]);
  const viaToken = await putManifest(url, REPO, "v1", replacement, bearer(token));
  assert.equal(viaToken.status, 401);
  assert.equal(parseChallenge(viaToken.headers.get("www-authenticate")).error, "insufficient_scope");
  await viaToken.arrayBuffer();
  assert.equal(await tagDigest(REPO, "v1"), image.digest, "v1 is unchanged");

  // `latest` is a tag like any other: no special case either way.
  await pushImage(url, REPO, "latest", adminAuth);
  const roLatest = await putManifest(url, REPO, "latest", replacement, basic(ro));
  assert.equal(roLatest.status, 403);
  await roLatest.arrayBuffer();
  for (const [who, auth] of [
    ["writer (Basic)", basic(creds.writer ?? ADMIN)],
    ["writer (token)", bearer(tokens.writer ?? "")],
  ] as const) {
    const body = imageManifest(image.config, image.layer, { by: who });
    const res = await putManifest(url, REPO, "latest", body, auth);
    assert.equal(res.status, 201, `${who}: ${await res.text()}`);
    assert.equal(await tagDigest(REPO, "latest"), digest(body), who);
  }
});

async function catalogOf(auth: string | undefined): Promise<string[]> {
  const res = await fetch(`${url}/v2/_catalog`, { headers: auth ? { Authorization: auth } : {} });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return (JSON.parse(text) as { repositories: string[] }).repositories;
}

test("the catalog lists only what the caller may pull", async () => {
  const all = await catalogOf(adminAuth);
  for (const repo of [REPO, "team-a/src", "team-b/other", "public/pub"]) assert.ok(all.includes(repo), repo);
  assert.deepEqual(await catalogOf(bearer(tokens.admin ?? "")), all);

  const teamA = all.filter((r) => r.startsWith("team-a/"));
  for (const who of ["reader", "writer", "robot"]) {
    assert.deepEqual(await catalogOf(basic(creds[who] ?? ADMIN)), teamA, `${who} (Basic)`);
    assert.deepEqual(await catalogOf(bearer(tokens[who] ?? "")), teamA, `${who} (token)`);
  }
  assert.deepEqual(await catalogOf(bearer(tokens.anonymous ?? "")), [], "anonymous without rules");

  // An anonymous pull rule on public/**: anonymous sees only the public repositories.
  await addRule(url, "anonymous", "public/**", ["pull"]);
  const anonymous = await getToken(url, ["registry:catalog:*", "repository:public/pub:pull"]);
  assert.deepEqual(await catalogOf(bearer(anonymous)), ["public/pub"]);
  // Anonymous grants apply to everyone: the reader now sees public/pub as well, still not team-b.
  const reader = await catalogOf(basic(creds.reader ?? ADMIN));
  assert.deepEqual(
    reader,
    all.filter((r) => r.startsWith("team-a/") || r.startsWith("public/")),
  );

  // Even where anonymous may pull, a request without credentials is challenged for a token first.
  const bare = await fetch(`${url}/v2/public/pub/manifests/v1`);
  assert.equal(bare.status, 401);
  assert.equal(parseChallenge(bare.headers.get("www-authenticate")).scope, "repository:public/pub:pull");
  await bare.arrayBuffer();
  const pulled = await fetch(`${url}/v2/public/pub/manifests/v1`, {
    headers: { Authorization: bearer(anonymous) },
  });
  assert.equal(pulled.status, 200);
  await pulled.arrayBuffer();
  // Anonymous may never push, whatever it asks for.
  const pushToken = await getToken(url, ["repository:public/pub:pull,push,delete"]);
  assert.deepEqual(accessOf(pushToken), [{ type: "repository", name: "public/pub", actions: ["pull"] }]);
});

test("list page sizes: n above the maximum is capped, an invalid n is PAGINATION_NUMBER_INVALID", async () => {
  const reader = basic(creds.reader ?? ADMIN);
  const readerToken = bearer(tokens.reader ?? "");
  for (const auth of [reader, readerToken, adminAuth]) {
    for (const n of ["10001", "100000", "999999999999999999999999"]) {
      const tags = await fetch(`${url}/v2/${REPO}/tags/list?n=${n}`, { headers: { Authorization: auth } });
      const text = await tags.text();
      assert.equal(tags.status, 200, `n=${n}: ${text}`);
      assert.ok((JSON.parse(text) as { tags: string[] }).tags.includes("v1"));
      assert.equal(tags.headers.get("link"), null);
    }
    const one = await fetch(`${url}/v2/${REPO}/tags/list?n=1`, { headers: { Authorization: auth } });
    assert.equal(one.status, 200);
    assert.equal(((await one.json()) as { tags: string[] }).tags.length, 1);
    assert.match(one.headers.get("link") ?? "", /[?&]n=1&/);
    for (const n of ["-1", "abc", "1.5", "1e3", "0x10"]) {
      const tags = await fetch(`${url}/v2/${REPO}/tags/list?n=${n}`, { headers: { Authorization: auth } });
      assert.equal(tags.status, 400, `n=${n}`);
      assert.deepEqual(await errorCodes(tags), ["PAGINATION_NUMBER_INVALID"]);
    }
  }
  const catalog = await fetch(`${url}/v2/_catalog?n=100000`, { headers: { Authorization: reader } });
  assert.equal(catalog.status, 200);
  await catalog.arrayBuffer();
  const bad = await fetch(`${url}/v2/_catalog?n=x`, { headers: { Authorization: readerToken } });
  assert.equal(bad.status, 400);
  assert.deepEqual(await errorCodes(bad), ["PAGINATION_NUMBER_INVALID"]);
  const referrers = await fetch(`${url}/v2/${REPO}/referrers/${image.digest}?n=-5`, {
    headers: { Authorization: reader },
  });
  assert.equal(referrers.status, 400);
  assert.deepEqual(await errorCodes(referrers), ["PAGINATION_NUMBER_INVALID"]);
  // Access is checked first: without credentials, a bad n is still a challenge.
  const anonymous = await fetch(`${url}/v2/${REPO}/tags/list?n=abc`);
  assert.equal(anonymous.status, 401);
  await anonymous.arrayBuffer();
});

test("revoking a robot stops its tokens and its Basic logins on the next request", async () => {
  const ci = await createRobot(url, "ci", ["team-a/**"], ["pull", "push"]);
  const token = await getToken(url, [`repository:${REPO}:pull,push`], ci);
  const get = (auth: string) =>
    fetch(`${url}/v2/${REPO}/manifests/v1`, { headers: { Authorization: auth } }).then(async (res) => {
      await res.arrayBuffer();
      return res;
    });
  assert.equal((await get(bearer(token))).status, 200);
  assert.equal((await get(basic(ci))).status, 200);

  const res = await adminCall(url, "DELETE", "/tokens/ci");
  assert.equal(res.status, 204);

  const viaToken = await get(bearer(token));
  assert.equal(viaToken.status, 401);
  assert.equal(parseChallenge(viaToken.headers.get("www-authenticate")).error, "invalid_token");
  const viaBasic = await get(basic(ci));
  assert.equal(viaBasic.status, 401);
  const newToken = await requestToken(url, [`repository:${REPO}:pull`], ci);
  assert.equal(newToken.status, 401);
  await newToken.arrayBuffer();
  // A push with the old token fails too.
  const push = await putManifest(url, REPO, "after-revoke", image.manifest, bearer(token));
  assert.equal(push.status, 401);
  await push.arrayBuffer();
});

test("removing an access rule (or the user) stops a token issued before, at once", async () => {
  const carol = await createUser(url, "carol", "carol-password");
  const ruleId = await addRule(url, "user:carol", "team-b/**", ["pull"]);
  const token = await getToken(url, ["repository:team-b/other:pull"], carol);
  assert.deepEqual(accessOf(token), [{ type: "repository", name: "team-b/other", actions: ["pull"] }]);
  const get = async (auth: string) => {
    const res = await fetch(`${url}/v2/team-b/other/manifests/v1`, { headers: { Authorization: auth } });
    await res.arrayBuffer();
    return res;
  };
  assert.equal((await get(bearer(token))).status, 200);
  assert.equal((await get(basic(carol))).status, 200);

  await removeRule(url, ruleId);
  const viaToken = await get(bearer(token));
  assert.equal(viaToken.status, 401);
  assert.equal(parseChallenge(viaToken.headers.get("www-authenticate")).error, "insufficient_scope");
  assert.equal((await get(basic(carol))).status, 403);

  // A token whose account is gone is invalid, whatever it grants.
  const ping = await getToken(url, [], carol);
  const removed = await adminCall(url, "DELETE", "/users/carol");
  assert.equal(removed.status, 204);
  const after = await fetch(`${url}/v2/`, { headers: { Authorization: bearer(ping) } });
  assert.equal(after.status, 401);
  assert.equal(parseChallenge(after.headers.get("www-authenticate")).error, "invalid_token");
  await after.arrayBuffer();
});
