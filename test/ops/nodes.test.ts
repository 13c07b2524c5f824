/**
 * Several nodes on one database (issue 12): what one node knows about authentication, every node knows.
 * Two `wharf serve` processes share one PostgreSQL database (blobs stay in each node's data directory,
 * which these tests never read across nodes): tokens, revocations, rule and account changes, and the
 * login lockout hold across both.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import pg from "pg";
import { parseIndexDocument } from "../../src/oci/index-artifact/index.js";
import { hashSecret } from "../../src/auth/passwords.js";
import { backendEnv } from "../helpers/backends.js";
import { startWharf, type TestServer } from "../helpers/server.js";
import {
  ADMIN,
  addRule,
  adminCall,
  basic,
  bearer,
  createRobot,
  createUser,
  getToken,
  postToken,
  pushImage,
  randomHex,
  removeRule,
  revokeRobot,
  sleep,
  type Credentials,
} from "../auth/support.js";

const MAX_FAILED = 4;
const ENV = { WHARF_AUTH_ENABLED: "true", WHARF_MAX_FAILED_LOGINS: String(MAX_FAILED), WHARF_LOCKOUT: "10m" };
const REPO = "team/app";

describe("two nodes on one PostgreSQL database", () => {
  let a: TestServer;
  let b: TestServer;

  before(async () => {
    a = await startWharf({ backend: await backendEnv("postgres"), env: ENV });
    await insertAdmin(a.backend.WHARF_METADATA_URL ?? "");
    b = await startWharf({ backend: a.backend, env: ENV });
    await pushImage(a.url, REPO, "v1", basic(ADMIN));
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  /** GET of the manifest (in the shared database) through a node, with the given Authorization. */
  async function pull(node: TestServer, authorization: string): Promise<number> {
    const res = await fetch(`${node.url}/v2/${REPO}/manifests/v1`, {
      headers: { Authorization: authorization, Accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    await res.arrayBuffer();
    return res.status;
  }

  /** The status `pull` gets once it differs from `from`, polling for up to a second. */
  async function statusWithinASecond(node: TestServer, authorization: string, from: number) {
    const deadline = Date.now() + 1000;
    let status = await pull(node, authorization);
    while (status === from && Date.now() < deadline) {
      await sleep(50);
      status = await pull(node, authorization);
    }
    return status;
  }

  test("a token issued by node A is accepted by node B (one signing key, in the database)", async () => {
    const dev = await createUser(a.url, `dev-${randomHex(3)}`, "dev-password-1");
    await addRule(a.url, `user:${dev.name}`, "team/**", ["pull"]);
    const token = await getToken(a.url, [`repository:${REPO}:pull`], dev);
    assert.equal(await pull(b, bearer(token)), 200);
    assert.equal(await pull(a, bearer(token)), 200);
    const fromB = await getToken(b.url, [`repository:${REPO}:pull`], dev);
    assert.equal(await pull(a, bearer(fromB)), 200);
  });

  test("revoking a robot on node A refuses it on node B within a second", async () => {
    const robot = await createRobot(a.url, `ci-${randomHex(3)}`, ["team/**"], ["pull"]);
    const token = await getToken(b.url, [`repository:${REPO}:pull`], robot);
    assert.equal(await pull(b, basic(robot)), 200, "B knows the robot (and has it cached)");
    assert.equal(await pull(b, bearer(token)), 200);
    await revokeRobot(a.url, robot.name);
    assert.equal(await statusWithinASecond(b, basic(robot), 200), 401);
    assert.equal(await statusWithinASecond(b, bearer(token), 200), 401, "its tokens stop working too");
  });

  test("removing a rule on node A refuses what it granted on node B within a second", async () => {
    const user = await createUser(a.url, `ru-${randomHex(3)}`, "rule-password-1");
    const rule = await addRule(a.url, `user:${user.name}`, "team/**", ["pull"]);
    const token = await getToken(a.url, [`repository:${REPO}:pull`], user);
    assert.equal(await pull(b, basic(user)), 200, "B grants the rule (and has the policy cached)");
    await removeRule(a.url, rule);
    const status = await statusWithinASecond(b, basic(user), 200);
    assert.ok(status === 401 || status === 403, `refused after the rule went: ${status}`);
    // A token issued before carries the grant; B's check of the current policy refuses it.
    const res = await fetch(`${b.url}/v2/${REPO}/manifests/v1`, {
      headers: { Authorization: bearer(token) },
    });
    await res.arrayBuffer();
    assert.notEqual(res.status, 200);
  });

  test("deleting a user on node A refuses it on node B within a second", async () => {
    const user = await createUser(a.url, `del-${randomHex(3)}`, "delete-password-1");
    await addRule(a.url, `user:${user.name}`, "team/**", ["pull"]);
    const token = await getToken(a.url, [`repository:${REPO}:pull`], user);
    assert.equal(await pull(b, basic(user)), 200);
    assert.equal(await pull(b, bearer(token)), 200);
    const removed = await adminCall(a.url, "DELETE", `/users/${user.name}`);
    await removed.arrayBuffer();
    assert.equal(removed.status, 204);
    assert.equal(await statusWithinASecond(b, bearer(token), 200), 401);
    assert.equal(await pull(b, basic(user)), 401);
  });

  test("a password changed on node A stops the old one on node B within a second", async () => {
    const user = await createUser(a.url, `pw-${randomHex(3)}`, "old-password-1");
    await addRule(a.url, `user:${user.name}`, "team/**", ["pull"]);
    // Basic logins are remembered for 30 s: only the change counter makes B forget this one.
    assert.equal(await pull(b, basic(user)), 200);
    const changed = await adminCall(a.url, "PUT", `/users/${user.name}/password`, {
      password: "new-password-1",
    });
    await changed.arrayBuffer();
    assert.ok(changed.status === 204 || changed.status === 200, `password change: ${changed.status}`);
    assert.equal(await statusWithinASecond(b, basic(user), 200), 401);
    assert.equal(await pull(b, basic({ name: user.name, password: "new-password-1" })), 200);
  });

  test("the lockout counts failures from both nodes: wrong passwords alternating between A and B", async () => {
    const user = await createUser(a.url, `lock-${randomHex(3)}`, "lock-password-1");
    const statuses: number[] = [];
    for (let i = 0; i < MAX_FAILED * 2; i++) {
      statuses.push(await tokenStatus(i % 2 === 0 ? a : b, user.name, `wrong-guess-${i}`));
    }
    assert.deepEqual(
      statuses,
      [...Array<number>(MAX_FAILED).fill(401), ...Array<number>(MAX_FAILED).fill(429)],
      `statuses: ${statuses.join(",")}`,
    );
    for (const node of [a, b]) {
      const res = await postToken(node.url, {
        grant_type: "password",
        username: user.name,
        password: "lock-password-1",
        service: "wharf",
      });
      await res.arrayBuffer();
      assert.equal(res.status, 429, "the right password is locked out on both nodes");
      assert.ok(Number(res.headers.get("retry-after")) >= 1);
    }
  });

  test("parallel wrong passwords on both nodes: exactly auth.maxFailedLogins are evaluated", async () => {
    const user = await createUser(a.url, `par-${randomHex(3)}`, "parallel-password-1");
    const statuses = await Promise.all(
      Array.from({ length: 24 }, (_, i) => tokenStatus(i % 2 === 0 ? a : b, user.name, `wrong-${i}`)),
    );
    assert.equal(statuses.filter((s) => s === 401).length, MAX_FAILED, `statuses: ${statuses.join(",")}`);
    assert.equal(statuses.filter((s) => s === 429).length, 24 - MAX_FAILED);
  });

  test("parallel logins with the right password on both nodes all succeed", async () => {
    const user = await createUser(a.url, `ok-${randomHex(3)}`, "right-password-1");
    const statuses = await Promise.all(
      Array.from({ length: MAX_FAILED * 3 }, (_, i) =>
        tokenStatus(i % 2 === 0 ? a : b, user.name, "right-password-1"),
      ),
    );
    assert.deepEqual(statuses, Array<number>(MAX_FAILED * 3).fill(200));
  });
});

async function tokenStatus(node: TestServer, username: string, password: string): Promise<number> {
  const res = await postToken(node.url, { grant_type: "password", username, password, service: "wharf" });
  await res.arrayBuffer();
  return res.status;
}

/** The first administrator, straight into the shared database (the bootstrap command is SQLite's). */
async function insertAdmin(url: string, creds: Credentials = ADMIN): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const at = new Date().toISOString();
    await client.query(
      "insert into users (name, password_hash, admin, version, created_at, updated_at) values ($1, $2, 1, 1, $3, $3)",
      [creds.name, await hashSecret(creds.password), at],
    );
  } finally {
    await client.end();
  }
}

describe("two nodes on one PostgreSQL database and bucket keep one managed index", () => {
  let a: TestServer;
  let b: TestServer;
  const env = { WHARF_INDEX_NAMESPACES: "proj", WHARF_INDEX_DELAY: "50ms" };

  before(async () => {
    a = await startWharf({ backend: await backendEnv("postgres-s3"), env });
    b = await startWharf({ backend: a.backend, env });
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  test("pushes arriving at both nodes at once: the index both serve lists exactly what was pushed", async () => {
    const pushedAll: [string, string][] = [];
    // Rounds of simultaneous pushes, half through each node, so that both rebuild at once.
    for (let round = 0; round < 4; round++) {
      const pushed = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          pushIndexed(i % 2 === 0 ? a : b, `proj/r${i}`, `v${round}`, `${round}-${i}`),
        ),
      );
      for (const p of pushed) pushedAll.push([p.repo, p.digest]);
    }
    const wanted = pushedAll.sort();
    for (const node of [a, b]) {
      let listed: [string, string][] = [];
      for (let i = 0; i < 100 && JSON.stringify(listed) !== JSON.stringify(wanted); i++) {
        await sleep(100);
        listed = await indexEntries(node);
      }
      assert.deepEqual(listed, wanted, "the index lists every push, through either node");
    }
  });
});

/** Pushes a small image (a config unique to `nonce`) to an open registry; its manifest digest. */
async function pushIndexed(node: TestServer, repo: string, tag: string, nonce: string) {
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", nonce }));
  const layer = Buffer.from(`layer ${nonce}`);
  for (const blob of [config, layer]) {
    const res = await fetch(`${node.url}/v2/${repo}/blobs/uploads/?digest=${sha256(blob)}`, {
      method: "POST",
      headers: { "Content-Type": "application/octet-stream" },
      body: blob,
    });
    await res.arrayBuffer();
    assert.equal(res.status, 201, `blob upload to ${repo}`);
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: sha256(config),
        size: config.length,
      },
      layers: [
        { mediaType: "application/vnd.oci.image.layer.v1.tar", digest: sha256(layer), size: layer.length },
      ],
    }),
  );
  const res = await fetch(`${node.url}/v2/${repo}/manifests/${tag}`, {
    method: "PUT",
    headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
    body: manifest,
  });
  await res.arrayBuffer();
  assert.equal(res.status, 201, `manifest ${repo}:${tag}`);
  return { repo, digest: sha256(manifest) };
}

/** `proj/index:latest` as [repository, digest] pairs, sorted; none while there is no index yet. */
async function indexEntries(node: TestServer): Promise<[string, string][]> {
  const res = await fetch(`${node.url}/v2/proj/index/manifests/latest`, {
    headers: { Accept: "application/vnd.oci.image.manifest.v1+json" },
  });
  if (res.status !== 200) {
    await res.arrayBuffer();
    return [];
  }
  const manifest = (await res.json()) as { layers: { digest: string }[] };
  const blob = await fetch(`${node.url}/v2/proj/index/blobs/${manifest.layers[0]?.digest ?? ""}`);
  // Replaced (and its layer removed) between the two reads: read again.
  if (blob.status === 404) {
    await blob.arrayBuffer();
    return [];
  }
  assert.equal(blob.status, 200);
  const doc = parseIndexDocument(Buffer.from(await blob.arrayBuffer()));
  return doc.entries.map((e) => [e.repository, e.digest] as [string, string]).sort();
}

function sha256(data: Buffer): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}
