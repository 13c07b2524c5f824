/**
 * Token integrity: forged, tampered, mis-addressed and expired tokens are refused; the signing key is
 * private and survives restarts; the OAuth2 password and refresh-token grants.
 */
import { filesystemOnly } from "../helpers/backends.js";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createPublicKey, type JsonWebKey as NodeJsonWebKey } from "node:crypto";
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK, type JWTPayload } from "jose";
import {
  ADMIN,
  accessOf,
  addRule,
  adminCall,
  basic,
  bearer,
  bootstrapAdmin,
  createUser,
  decodeJwt,
  errorCodes,
  getToken,
  parseChallenge,
  postToken,
  pushImage,
  putManifest,
  requestToken,
  sleep,
  startAuthServer,
  type AuthServer,
  type Credentials,
  type PushedImage,
  type TokenResponse,
} from "./support.js";
import { storedSigningKey } from "../helpers/metadata.js";
import { startWharf } from "../helpers/server.js";

const REPO = "dev/app";
const PULL = `repository:${REPO}:pull`;

let srv: AuthServer;
/** A second registry (its own key) whose tokens live one second. */
let shortLived: AuthServer;
let dev: Credentials;
let image: PushedImage;
/** A genuine pull token for dev/app, the starting point of the forgeries. */
let genuine: string;

before(async () => {
  [srv, shortLived] = await Promise.all([startAuthServer(), startAuthServer({ WHARF_TOKEN_TTL: "1s" })]);
  dev = await createUser(srv.url, "dev", "dev-password-1");
  await addRule(srv.url, "user:dev", "dev/**", ["pull"]);
  image = await pushImage(srv.url, REPO, "v1", basic(ADMIN));
  genuine = await getToken(srv.url, [PULL], dev);
});

after(async () => {
  await Promise.all([srv?.stop(), shortLived?.stop()]);
});

function keyPath(server: AuthServer): string {
  return join(server.dataDir, "auth", "token-signing-key.json");
}

/** The signing key, from the database every node of the server shares. */
async function serverKey(server: AuthServer): Promise<JWK> {
  return JSON.parse(await storedSigningKey(server.server)) as JWK;
}

/** Fetches dev/app:v1 with the token; returns the response (body consumed) and its challenge. */
async function pull(token: string, server = srv) {
  const res = await fetch(`${server.url}/v2/${REPO}/manifests/v1`, {
    headers: { Authorization: bearer(token) },
  });
  const codes = await errorCodes(res);
  const header = res.headers.get("www-authenticate");
  return { status: res.status, codes, challenge: header ? parseChallenge(header) : undefined };
}

async function expectInvalid(token: string, what: string, server = srv): Promise<void> {
  const res = await pull(token, server);
  assert.equal(res.status, 401, `${what}: expected 401, got ${res.status}`);
  assert.deepEqual(res.codes, ["UNAUTHORIZED"], what);
  assert.equal(res.challenge?.error, "invalid_token", what);
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/** Claims as the registry issues them, for dev with pull on dev/app; override any. */
function claims(overrides: JWTPayload = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return {
    acc: decodeJwt(genuine).payload.acc, // which account named dev: copied, as a forger could
    iss: "wharf",
    aud: "wharf",
    sub: "dev",
    iat: now,
    nbf: now - 5,
    exp: now + 300,
    jti: "forged",
    kind: "user",
    use: "access",
    access: [{ type: "repository", name: REPO, actions: ["pull"] }],
    ...overrides,
  };
}

async function signWith(
  jwk: JWK,
  payload: JWTPayload,
  header: Record<string, unknown> = {},
): Promise<string> {
  const key = await importJWK(jwk, "ES256");
  return new SignJWT(payload).setProtectedHeader({ alg: "ES256", typ: "JWT", ...header }).sign(key);
}

test("a token signed here with the registry's own key is accepted (the forging harness works)", async () => {
  assert.equal((await pull(genuine)).status, 200);
  const own = await signWith(await serverKey(srv), claims());
  assert.equal((await pull(own)).status, 200);
});

test("tokens signed with another key are rejected", async () => {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const attacker = await exportJWK(privateKey);
  const attackerPublic = await exportJWK(publicKey);
  const { header } = decodeJwt(genuine);
  await expectInvalid(await signWith(attacker, claims()), "another ES256 key");
  await expectInvalid(await signWith(attacker, claims(), { kid: header.kid }), "another key with our kid");
  await expectInvalid(await signWith(attacker, claims(), { jwk: attackerPublic }), "embedded jwk header");
  // A genuine token of another Wharf (another data directory, another key).
  const foreign = await getToken(shortLived.url, [PULL], ADMIN);
  await expectInvalid(foreign, "a token of another registry");
});

test("alg none and HS256 keyed with the public key are rejected", async () => {
  const [, payload, signature] = genuine.split(".");
  const none = b64({ alg: "none", typ: "JWT" });
  await expectInvalid(`${none}.${payload}.`, "alg none, no signature");
  await expectInvalid(`${none}.${payload}.${signature}`, "alg none, old signature");
  await expectInvalid(`${b64({ alg: "None", typ: "JWT" })}.${payload}.`, "alg None");

  const jwk = await serverKey(srv);
  const { d: _private, ...publicJwk } = jwk;
  const pem = createPublicKey({ key: publicJwk as NodeJsonWebKey, format: "jwk" }).export({
    type: "spki",
    format: "pem",
  });
  for (const [what, secret] of [
    ["PEM", Buffer.from(pem)],
    ["JWK JSON", Buffer.from(JSON.stringify(publicJwk))],
  ] as const) {
    const hs = await new SignJWT(claims())
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .sign(new Uint8Array(secret));
    await expectInvalid(hs, `HS256 with the public key (${what})`);
  }
});

test("wrong audience, wrong issuer, expired or not yet valid tokens are rejected even when well signed", async () => {
  const jwk = await serverKey(srv);
  const now = Math.floor(Date.now() / 1000);
  const cases: [string, JWTPayload][] = [
    ["wrong audience", claims({ aud: "other-registry" })],
    ["wrong issuer", claims({ iss: "evil" })],
    ["expired", claims({ iat: now - 600, nbf: now - 600, exp: now - 60 })],
    ["not yet valid", claims({ nbf: now + 600 })],
    ["no subject", claims({ sub: undefined })],
    ["no expiry", claims({ exp: undefined })],
    ["unknown account kind", claims({ kind: "admin" })],
    ["no use", claims({ use: undefined })],
    ["a refresh token's use", claims({ use: "refresh" })],
    ["an account that does not exist", claims({ sub: "nobody" })],
  ];
  for (const [what, payload] of cases) {
    const clean = Object.fromEntries(Object.entries(payload).filter(([, v]) => v !== undefined));
    await expectInvalid(await signWith(jwk, clean), what);
  }
});

test("a token expires after the configured TTL (WHARF_TOKEN_TTL=1s)", async () => {
  const res = await requestToken(shortLived.url, [], ADMIN);
  const body = (await res.json()) as TokenResponse;
  assert.equal(body.expires_in, 1);
  const { payload } = decodeJwt(body.token);
  assert.equal(Number(payload.exp) - Number(payload.iat), 1);
  const ping = async () => {
    const r = await fetch(`${shortLived.url}/v2/`, { headers: { Authorization: bearer(body.token) } });
    await r.arrayBuffer();
    return r;
  };
  const issuedAt = Date.now();
  assert.equal((await ping()).status, 200);
  // Verification allows a few seconds of clock skew; within 15 s the token must be dead.
  let last: Response | undefined;
  while (Date.now() - issuedAt < 15_000) {
    await sleep(500);
    last = await ping();
    if (last.status !== 200) break;
  }
  assert.equal(last?.status, 401, "the token stopped working");
  assert.ok(Date.now() - issuedAt >= 1000);
  assert.equal(parseChallenge(last.headers.get("www-authenticate")).error, "invalid_token");
});

test("a tampered payload is rejected, not read", async () => {
  const [header, payload, signature] = genuine.split(".");
  const original = decodeJwt(genuine).payload;
  const widened = b64({
    ...original,
    access: [{ type: "repository", name: REPO, actions: ["pull", "push"] }],
  });
  const tampered = `${header}.${widened}.${signature}`;
  await expectInvalid(tampered, "widened access");
  const put = await putManifest(srv.url, REPO, "tampered", image.manifest, bearer(tampered));
  assert.equal(put.status, 401);
  assert.equal(parseChallenge(put.headers.get("www-authenticate")).error, "invalid_token");
  await put.arrayBuffer();

  await expectInvalid(`${header}.${b64({ ...original, sub: "admin" })}.${signature}`, "another subject");
  await expectInvalid(
    `${header}.${b64({ ...original, exp: Number(original.exp) + 3600 })}.${signature}`,
    "exp",
  );
  // Flipping the signature itself.
  const sig = Buffer.from(signature ?? "", "base64url");
  sig[0] = (sig[0] ?? 0) ^ 1;
  await expectInvalid(`${header}.${payload}.${sig.toString("base64url")}`, "altered signature");
  assert.equal((await pull(genuine)).status, 200, "the original still works");
});

test("garbage is rejected as an invalid token", async () => {
  for (const token of [
    "garbage",
    "a.b.c",
    "..",
    "eyJhbGciOiJFUzI1NiJ9.e30.",
    `${genuine}x`,
    `${genuine}.x`,
  ]) {
    await expectInvalid(token, JSON.stringify(token));
  }
  for (const header of ["Bearer", "Bearer ", "Basic", "Basic !!!", "Negotiate abc"]) {
    const res = await fetch(`${srv.url}/v2/${REPO}/manifests/v1`, { headers: { Authorization: header } });
    assert.equal(res.status, 401, header);
    assert.deepEqual(await errorCodes(res), ["UNAUTHORIZED"], header);
    assert.ok(res.headers.get("www-authenticate")?.startsWith("Bearer "), header);
  }
});

test("refresh tokens: password grant with access_type=offline, refresh grant, not usable as access tokens", async () => {
  const offline = await postToken(srv.url, {
    grant_type: "password",
    username: dev.name,
    password: dev.password,
    service: "wharf",
    scope: PULL,
    access_type: "offline",
    client_id: "wharf-tests",
  });
  assert.equal(offline.status, 200);
  assert.equal(offline.headers.get("cache-control"), "no-store");
  const first = (await offline.json()) as TokenResponse;
  assert.equal(typeof first.refresh_token, "string");
  assert.equal(first.access_token, first.token);
  assert.deepEqual(accessOf(first.access_token ?? ""), [
    { type: "repository", name: REPO, actions: ["pull"] },
  ]);
  assert.equal((await pull(first.access_token ?? "")).status, 200);

  // Without access_type=offline, no refresh token.
  const online = await postToken(srv.url, {
    grant_type: "password",
    username: dev.name,
    password: dev.password,
    service: "wharf",
    scope: PULL,
  });
  assert.equal(online.status, 200);
  assert.equal(((await online.json()) as TokenResponse).refresh_token, undefined);

  const refresh = first.refresh_token ?? "";
  await expectInvalid(refresh, "a refresh token used as an access token");
  const refreshed = await postToken(srv.url, {
    grant_type: "refresh_token",
    refresh_token: refresh,
    service: "wharf",
    scope: [PULL, `repository:${REPO}:push`, "repository:other/app:pull"],
  });
  assert.equal(refreshed.status, 200);
  const second = (await refreshed.json()) as TokenResponse;
  // Only what dev may do: pull on dev/app, nothing on other/app.
  assert.deepEqual(accessOf(second.access_token ?? ""), [
    { type: "repository", name: REPO, actions: ["pull"] },
  ]);
  assert.equal((await pull(second.access_token ?? "")).status, 200);

  // An access token is not a refresh token; garbage neither.
  for (const token of [first.access_token ?? "", "garbage", ""]) {
    const res = await postToken(srv.url, {
      grant_type: "refresh_token",
      refresh_token: token,
      service: "wharf",
    });
    assert.equal(res.status, 401, token);
    assert.equal((await res.json()) !== null, true);
  }
});

test("a password change invalidates refresh tokens issued before", async () => {
  const alice = await createUser(srv.url, "alice", "alice-password-1");
  await addRule(srv.url, "user:alice", "dev/**", ["pull"]);
  const viaGet = await requestToken(srv.url, [PULL], alice, { offline_token: "true" });
  const old = ((await viaGet.json()) as TokenResponse).refresh_token;
  assert.equal(typeof old, "string");
  const before = await postToken(srv.url, { grant_type: "refresh_token", refresh_token: old ?? "" });
  assert.equal(before.status, 200);
  await before.arrayBuffer();

  const changed = await adminCall(srv.url, "PUT", "/users/alice/password", { password: "alice-password-2" });
  assert.equal(changed.status, 204);

  const afterChange = await postToken(srv.url, { grant_type: "refresh_token", refresh_token: old ?? "" });
  assert.equal(afterChange.status, 401);
  assert.deepEqual(await errorCodes(afterChange), ["UNAUTHORIZED"]);
  // The old password is refused; the new one works and yields a working refresh token.
  const oldPassword = await postToken(srv.url, {
    grant_type: "password",
    username: "alice",
    password: "alice-password-1",
  });
  assert.equal(oldPassword.status, 401);
  await oldPassword.arrayBuffer();
  const fresh = await postToken(srv.url, {
    grant_type: "password",
    username: "alice",
    password: "alice-password-2",
    access_type: "offline",
  });
  assert.equal(fresh.status, 200);
  const next = ((await fresh.json()) as TokenResponse).refresh_token ?? "";
  const again = await postToken(srv.url, { grant_type: "refresh_token", refresh_token: next });
  assert.equal(again.status, 200);
  await again.arrayBuffer();
});

test("removing a user and adding another of the same name does not revive old tokens", async () => {
  const zed = await createUser(srv.url, "zed", "zed-password-1");
  await addRule(srv.url, "user:zed", "dev/**", ["pull"]);
  const res = await requestToken(srv.url, [PULL], zed, { offline_token: "true" });
  const issued = (await res.json()) as TokenResponse;
  assert.equal((await pull(issued.token)).status, 200);

  assert.equal((await adminCall(srv.url, "DELETE", "/users/zed")).status, 204);
  await expectInvalid(issued.token, "the removed user's access token");
  // A new account that happens to get the same name is someone else.
  await createUser(srv.url, "zed", "another-person-1");
  await addRule(srv.url, "user:zed", "dev/**", ["pull"]);
  await expectInvalid(issued.token, "the old access token against the new zed");
  const revived = await postToken(srv.url, {
    grant_type: "refresh_token",
    refresh_token: issued.refresh_token ?? "",
    scope: PULL,
  });
  assert.equal(revived.status, 401, "the old refresh token against the new zed");
  await revived.arrayBuffer();
});

test("unsupported or missing grant types are a 400", async () => {
  const forms: Record<string, string>[] = [
    { grant_type: "client_credentials", client_id: "x" },
    { grant_type: "authorization_code", code: "x" },
    {},
  ];
  for (const form of forms) {
    const res = await postToken(srv.url, form);
    assert.equal(res.status, 400, JSON.stringify(form));
    assert.equal(((await res.json()) as { error?: string }).error, "unsupported_grant_type");
  }
  // And the GET endpoint takes Basic credentials or none, never a token.
  const withToken = await fetch(`${srv.url}/auth/token?service=wharf&scope=${PULL}`, {
    headers: { Authorization: bearer(genuine) },
  });
  assert.equal(withToken.status, 401);
  await withToken.arrayBuffer();
});

test("the signing key is kept in the database, not in a file, and survives a restart; earlier tokens still verify", async () => {
  await assert.rejects(stat(keyPath(srv)), { code: "ENOENT" }, "no key file in the data directory");
  const jwk = await serverKey(srv);
  assert.equal(jwk.kty, "EC");
  assert.equal(jwk.crv, "P-256");
  assert.equal(typeof jwk.d, "string");

  const offline = await postToken(srv.url, {
    grant_type: "password",
    username: dev.name,
    password: dev.password,
    scope: PULL,
    access_type: "offline",
  });
  const issued = (await offline.json()) as TokenResponse;
  const keyBefore = await storedSigningKey(srv.server);

  await srv.stop({ keepData: true });
  srv = await srv.restart();

  assert.equal(await storedSigningKey(srv.server), keyBefore, "the key was kept");
  assert.equal(
    (await pull(issued.access_token ?? "")).status,
    200,
    "an access token from before the restart",
  );
  assert.equal((await pull(genuine)).status, 200);
  const refreshed = await postToken(srv.url, {
    grant_type: "refresh_token",
    refresh_token: issued.refresh_token ?? "",
    scope: PULL,
  });
  assert.equal(refreshed.status, 200, "a refresh token from before the restart");
  const token = ((await refreshed.json()) as TokenResponse).access_token ?? "";
  assert.equal((await pull(token)).status, 200);
  // Still the same kid.
  assert.equal(decodeJwt(token).header.kid, decodeJwt(genuine).header.kid);
});

test(
  "a key file from before keys moved to the database is imported: its tokens stay valid, the file goes",
  { skip: filesystemOnly("a node on PostgreSQL and S3 has no data directory to import a key from") },
  async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "wharf-legacy-key-"));
    try {
      await bootstrapAdmin(dataDir);
      const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
      const legacy = await exportJWK(privateKey);
      await mkdir(join(dataDir, "auth"), { mode: 0o700 });
      await writeFile(join(dataDir, "auth", "token-signing-key.json"), JSON.stringify(legacy), {
        mode: 0o600,
      });

      const server = await startWharf({ dataDir });
      try {
        assert.equal(
          (JSON.parse(await storedSigningKey(server)) as JWK).d,
          legacy.d,
          "the file's key was stored",
        );
        await assert.rejects(stat(join(dataDir, "auth", "token-signing-key.json")), { code: "ENOENT" });
        // Tokens the server issues now verify with the old key: so do those it issued before the upgrade.
        const token = await getToken(server.url, [PULL], ADMIN);
        const { payload } = await jwtVerify(token, publicKey, { issuer: "wharf", audience: "wharf" });
        assert.equal(payload.sub, ADMIN.name);
      } finally {
        await server.stop({ keepData: true });
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  },
);
