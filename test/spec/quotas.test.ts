/**
 * Quotas and usage (issue 15): a byte quota per namespace, each digest counted once, checked in the
 * transaction of every upload completion, mount and manifest push; exact under concurrent pushes and
 * deletes (checked against an independent recount in SQL); `wharf quota` and `wharf du`.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ADMIN,
  adminCall,
  basic,
  digest,
  imageManifest,
  pushBlob,
  putManifest,
  randomHex,
  startAuthServer,
  type AuthServer,
} from "../auth/support.js";
import { backendOf, queryMetadata } from "../helpers/backends.js";
import { cliHome, type CliHome } from "../client/cli.js";

const AUTH = basic(ADMIN);
const DENIED_MESSAGE =
  /^quota (\S+) exceeded: (\S+) would use [\d.]+ (B|KiB|MiB|GiB) \((\d+) bytes\) of [\d.]+ (B|KiB|MiB|GiB) \((\d+) bytes\) allowed$/;

interface Quota {
  name: string;
  repositories: string;
  limit: number;
  used: number;
}

interface ErrorBody {
  errors: { code: string; message: string; detail?: Record<string, unknown> }[];
}

async function addQuota(url: string, name: string, repositories: string, limit: number | string) {
  const res = await adminCall(url, "POST", "/quotas", { name, repositories, limit });
  const text = await res.text();
  assert.ok(res.status === 201 || res.status === 200, `adding quota ${name}: ${res.status} ${text}`);
  return JSON.parse(text) as Quota;
}

async function quotaUsed(url: string, name: string): Promise<number> {
  const res = await adminCall(url, "GET", "/quotas");
  const { quotas } = (await res.json()) as { quotas: Quota[] };
  const found = quotas.find((q) => q.name === name);
  assert.ok(found, `quota ${name} listed`);
  return found.used;
}

/** POST ?digest= (monolithic) or POST then PUT ?digest= (the session's completion): the response. */
async function upload(url: string, repo: string, data: Buffer, monolithic: boolean): Promise<Response> {
  const d = digest(data);
  const headers = { Authorization: AUTH, "Content-Type": "application/octet-stream" };
  if (monolithic) {
    return fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${d}`, {
      method: "POST",
      headers,
      body: new Uint8Array(data),
    });
  }
  const start = await fetch(`${url}/v2/${repo}/blobs/uploads/`, { method: "POST", headers });
  await start.arrayBuffer();
  assert.equal(start.status, 202);
  const location = new URL(start.headers.get("location") ?? "", url);
  location.searchParams.set("digest", d);
  return fetch(location, { method: "PUT", headers, body: new Uint8Array(data) });
}

function mount(url: string, repo: string, d: string, from: string): Promise<Response> {
  return fetch(`${url}/v2/${repo}/blobs/uploads/?mount=${d}&from=${from}`, {
    method: "POST",
    headers: { Authorization: AUTH },
  });
}

async function expectDenied(
  res: Response,
  quota: string,
  namespace: string,
): Promise<ErrorBody["errors"][0]> {
  const text = await res.text();
  assert.equal(res.status, 403, `expected DENIED, got ${res.status} ${text}`);
  // For clients that print only the status line (containerd's resolver: helm, nerdctl).
  assert.match(res.statusText, /^Forbidden: quota /);
  const body = JSON.parse(text) as ErrorBody;
  const [error] = body.errors;
  assert.equal(error?.code, "DENIED");
  const match = DENIED_MESSAGE.exec(error.message);
  assert.ok(match, `message: ${error.message}`);
  assert.equal(match[1], quota);
  assert.equal(match[2], namespace);
  assert.ok(Number(match[4]) > Number(match[6]), "used beyond allowed");
  return error;
}

async function blobStatus(url: string, repo: string, d: string): Promise<number> {
  const res = await fetch(`${url}/v2/${repo}/blobs/${d}`, { headers: { Authorization: AUTH } });
  await res.arrayBuffer();
  return res.status;
}

/**
 * The namespace's holdings recounted from the tables themselves (each digest once, over links and
 * manifest rows of repositories below `prefix/`), independently of the quota's bookkeeping.
 */
async function recount(
  dataDir: string,
  prefix: string,
): Promise<{ bytes: number; refs: Map<string, number> }> {
  const like = `${prefix}/%`;
  const [total] = await queryMetadata<{ bytes: number | string | null }>(
    dataDir,
    `select sum(size) as bytes from (
       select rb.digest, b.size from repository_blobs rb join blobs b on b.digest = rb.digest
         where rb.repository like ?
       union
       select m.digest, m.size from manifests m where m.repository like ?
     ) held`,
    [like, like],
  );
  const rows = await queryMetadata<{ digest: string; refs: number | string }>(
    dataDir,
    `select digest, count(*) as refs from (
       select digest from repository_blobs where repository like ?
       union all
       select digest from manifests where repository like ?
     ) holders group by digest`,
    [like, like],
  );
  return { bytes: Number(total?.bytes ?? 0), refs: new Map(rows.map((r) => [r.digest, Number(r.refs)])) };
}

async function quotaObjects(dataDir: string, quota: string): Promise<Map<string, number>> {
  const rows = await queryMetadata<{ digest: string; refs: number | string }>(
    dataDir,
    "select digest, refs from quota_objects where quota = ?",
    [quota],
  );
  return new Map(rows.map((r) => [r.digest, Number(r.refs)]));
}

async function expectExact(server: AuthServer, quota: string, prefix: string): Promise<number> {
  const counted = await recount(server.dataDir, prefix);
  assert.equal(await quotaUsed(server.url, quota), counted.bytes, "used bytes equal the recount");
  assert.deepEqual(
    new Map([...(await quotaObjects(server.dataDir, quota))].sort()),
    new Map([...counted.refs].sort()),
    "per-digest holder counts equal the recount",
  );
  return counted.bytes;
}

describe("quotas", () => {
  let server: AuthServer;

  before(async () => {
    server = await startAuthServer();
  });
  after(async () => {
    await server?.stop();
  });

  test("8 concurrent uploads near the limit: exactly those that fit are admitted, the rest DENIED", async () => {
    const ns = `q${randomHex()}`;
    const size = 1000;
    await addQuota(server.url, "near", `${ns}/**`, 4 * size + 500);
    const blobs = Array.from({ length: 8 }, () => randomBytes(size));
    const responses = await Promise.all(
      blobs.map((data, i) => upload(server.url, `${ns}/r${i % 3}`, data, i % 2 === 0)),
    );
    const admitted: number[] = [];
    for (const [i, res] of responses.entries()) {
      if (res.status === 201) {
        await res.arrayBuffer();
        admitted.push(i);
      } else {
        const error = await expectDenied(res, "near", `${ns}/**`);
        assert.equal(error.detail?.limit, 4 * size + 500);
      }
    }
    assert.equal(admitted.length, 4, "as many as fit, no more");
    const used = await quotaUsed(server.url, "near");
    assert.equal(used, 4 * size);
    for (const i of admitted) {
      const res = await fetch(`${server.url}/v2/${ns}/r${i % 3}/blobs/${digest(blobs[i] as Buffer)}`, {
        headers: { Authorization: AUTH },
      });
      assert.equal(res.status, 200);
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(blobs[i] as Buffer));
    }
    for (const [i, data] of blobs.entries()) {
      if (!admitted.includes(i))
        assert.equal(await blobStatus(server.url, `${ns}/r${i % 3}`, digest(data)), 404);
    }
    await expectExact(server, "near", ns);
  });

  test("a blob shared by two repositories of the namespace counts once; manifests count by their size", async () => {
    const ns = `q${randomHex()}`;
    await addQuota(server.url, "shared", `${ns}/**`, "1MiB");
    const layer = randomBytes(700);
    const config = Buffer.from(JSON.stringify({ nonce: randomHex() }));
    const l = await pushBlob(server.url, `${ns}/a`, layer, AUTH);
    const c = await pushBlob(server.url, `${ns}/a`, config, AUTH);
    await pushBlob(server.url, `${ns}/b`, layer, AUTH); // uploaded again elsewhere
    const mounted = await mount(server.url, `${ns}/c`, l.digest, `${ns}/a`);
    assert.equal(mounted.status, 201);
    // The same blob outside the namespace does not count.
    await pushBlob(server.url, `out${randomHex()}/x`, layer, AUTH);
    assert.equal(await quotaUsed(server.url, "shared"), layer.length + config.length);
    const manifest = imageManifest(c, l);
    await pushBlob(server.url, `${ns}/b`, config, AUTH);
    assert.equal((await putManifest(server.url, `${ns}/a`, "v1", manifest, AUTH)).status, 201);
    assert.equal((await putManifest(server.url, `${ns}/b`, "v1", manifest, AUTH)).status, 201);
    assert.equal((await putManifest(server.url, `${ns}/a`, "v2", manifest, AUTH)).status, 201); // same row
    assert.equal(await quotaUsed(server.url, "shared"), layer.length + config.length + manifest.length);
    await expectExact(server, "shared", ns);
    // Only when the last holder goes does the digest stop counting.
    const del = (repo: string, what: string) =>
      fetch(`${server.url}/v2/${repo}/${what}`, { method: "DELETE", headers: { Authorization: AUTH } });
    assert.equal((await del(`${ns}/a`, `blobs/${l.digest}`)).status, 202);
    assert.equal((await del(`${ns}/b`, `blobs/${l.digest}`)).status, 202);
    assert.equal(await quotaUsed(server.url, "shared"), layer.length + config.length + manifest.length);
    assert.equal((await del(`${ns}/c`, `blobs/${l.digest}`)).status, 202);
    assert.equal(await quotaUsed(server.url, "shared"), config.length + manifest.length);
    assert.equal((await del(`${ns}/a`, `manifests/${digest(manifest)}`)).status, 202);
    assert.equal((await del(`${ns}/b`, `manifests/${digest(manifest)}`)).status, 202);
    assert.equal(await quotaUsed(server.url, "shared"), config.length);
    await expectExact(server, "shared", ns);
  });

  test("a manifest push over the limit is refused whole; a lowered limit refuses growth, removes nothing", async () => {
    const ns = `q${randomHex()}`;
    const layer = randomBytes(1000);
    const config = Buffer.from(JSON.stringify({ nonce: randomHex() }));
    const l = await pushBlob(server.url, `${ns}/a`, layer, AUTH);
    const c = await pushBlob(server.url, `${ns}/a`, config, AUTH);
    // Added over data already there: counted exactly from it.
    const quota = await addQuota(server.url, "tight", `${ns}/**`, layer.length + config.length + 10);
    assert.equal(quota.used, layer.length + config.length);
    const manifest = imageManifest(c, l);
    await expectDenied(await putManifest(server.url, `${ns}/a`, "v1", manifest, AUTH), "tight", `${ns}/**`);
    const head = await fetch(`${server.url}/v2/${ns}/a/manifests/${digest(manifest)}`, {
      method: "HEAD",
      headers: { Authorization: AUTH },
    });
    assert.equal(head.status, 404, "nothing stored");
    assert.equal(await quotaUsed(server.url, "tight"), layer.length + config.length);

    // Same namespace again: a new limit, below the usage.
    const lowered = await addQuota(server.url, "tight", `${ns}/**`, 100);
    assert.equal(lowered.limit, 100);
    assert.equal(lowered.used, layer.length + config.length);
    await expectDenied(await upload(server.url, `${ns}/b`, randomBytes(10), false), "tight", `${ns}/**`);
    // No growth is no refusal: a digest the namespace holds already.
    assert.equal((await mount(server.url, `${ns}/b`, l.digest, `${ns}/a`)).status, 201);
    assert.equal(await blobStatus(server.url, `${ns}/a`, l.digest), 200);
    assert.equal(await blobStatus(server.url, `${ns}/a`, c.digest), 200);
    assert.equal(await quotaUsed(server.url, "tight"), layer.length + config.length);
    // Another namespace cannot be given to the name; removing the quota lifts the limit.
    const moved = await adminCall(server.url, "POST", "/quotas", {
      name: "tight",
      repositories: "x/**",
      limit: 1,
    });
    assert.equal(moved.status, 409);
    await moved.arrayBuffer();
    assert.equal((await adminCall(server.url, "DELETE", "/quotas/tight")).status, 204);
    assert.equal((await putManifest(server.url, `${ns}/a`, "v1", manifest, AUTH)).status, 201);
  });

  test("quota add over a namespace holding data, while pushes go on, counts it exactly", async () => {
    const ns = `q${randomHex()}`;
    const shared = randomBytes(500);
    let held = shared.length;
    for (const repo of ["a", "b"]) {
      const image = await pushBlob(server.url, `${ns}/${repo}`, shared, AUTH);
      const config = await pushBlob(server.url, `${ns}/${repo}`, Buffer.from(`{"r":"${repo}"}`), AUTH);
      const manifest = imageManifest(config, image);
      assert.equal((await putManifest(server.url, `${ns}/${repo}`, "v1", manifest, AUTH)).status, 201);
      held += config.size + manifest.length;
    }
    await pushBlob(server.url, `${ns}x/outside`, randomBytes(900), AUTH); // not in ns/**
    // Pushes racing the add: each is counted by the add or counts itself, never both, never neither.
    const racing = Array.from({ length: 8 }, (_, i) =>
      upload(server.url, `${ns}/r${i % 2}`, randomBytes(300), i % 2 === 0),
    );
    const quota = await addQuota(server.url, "existing", `${ns}/**`, "10MB");
    for (const res of await Promise.all(racing)) {
      assert.equal(res.status, 201);
      await res.arrayBuffer();
    }
    assert.ok(quota.used >= held, "the data already there is counted");
    assert.equal(await expectExact(server, "existing", ns), held + 8 * 300);
    assert.equal((await adminCall(server.url, "DELETE", "/quotas/existing")).status, 204);
  });

  test("bad quotas are refused with the reason", async () => {
    const cases: [Record<string, unknown>, number, RegExp][] = [
      [{ name: "Bad Name", repositories: "a/**", limit: 1 }, 400, /invalid quota name/],
      [{ name: "ok", repositories: "a/[", limit: 1 }, 400, /invalid repository pattern/],
      [{ name: "ok", repositories: "a/**", limit: "ten" }, 400, /invalid limit/],
      [{ name: "ok", repositories: "a/**", limit: -1 }, 400, /invalid limit/],
      [{ name: "ok", repositories: "a/**" }, 400, /limit must be/],
    ];
    for (const [body, status, message] of cases) {
      const res = await adminCall(server.url, "POST", "/quotas", body);
      const parsed = (await res.json()) as ErrorBody;
      assert.equal(res.status, status, JSON.stringify(body));
      assert.match(parsed.errors[0]?.message ?? "", message);
    }
    const missing = await adminCall(server.url, "DELETE", "/quotas/nope");
    assert.equal(missing.status, 404);
    await missing.arrayBuffer();
  });

  test("usage equals a recount after a random concurrent workload of pushes, mounts and deletes", async () => {
    const ns = `q${randomHex()}`;
    const repos = ["a", "b", "c"].map((r) => `${ns}/${r}`);
    const pool = Array.from({ length: 6 }, () => randomBytes(200 + Math.floor(Math.random() * 800)));
    // Room for most, not all: some pushes are refused and roll back.
    await addQuota(server.url, "random", `${ns}/**`, 9000);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;
    const statuses = new Map<number, number>();
    const note = async (res: Response) => {
      await res.arrayBuffer();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    };
    const worker = async () => {
      for (let i = 0; i < 25; i++) {
        const repo = pick(repos);
        const blob = Math.random() < 0.7 ? pick(pool) : randomBytes(300);
        const op = Math.random();
        if (op < 0.35) await note(await upload(server.url, repo, blob, Math.random() < 0.5));
        else if (op < 0.5) await note(await mount(server.url, repo, digest(blob), pick(repos)));
        else if (op < 0.7) {
          const config = pick(pool);
          const layer = pick(pool);
          const body = imageManifest(
            { digest: digest(config), size: config.length },
            { digest: digest(layer), size: layer.length },
          );
          await note(await putManifest(server.url, repo, `t${i % 3}`, body, AUTH));
        } else if (op < 0.85) {
          const tags = await fetch(`${server.url}/v2/${repo}/manifests/t${i % 3}`, {
            method: "HEAD",
            headers: { Authorization: AUTH, Accept: "application/vnd.oci.image.manifest.v1+json" },
          });
          await tags.arrayBuffer();
          const found = tags.headers.get("docker-content-digest");
          if (found) {
            await note(
              await fetch(`${server.url}/v2/${repo}/manifests/${found}`, {
                method: "DELETE",
                headers: { Authorization: AUTH },
              }),
            );
          }
        } else {
          await note(
            await fetch(`${server.url}/v2/${repo}/blobs/${digest(pick(pool))}`, {
              method: "DELETE",
              headers: { Authorization: AUTH },
            }),
          );
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    assert.ok((statuses.get(201) ?? 0) > 10, `pushes happened: ${JSON.stringify([...statuses])}`);
    const used = await expectExact(server, "random", ns);
    assert.ok(used <= 9000, "never over the limit");
    // The usage API agrees with the recount too (each digest once over the namespace).
    const usage = await adminCall(server.url, "GET", `/usage?namespace=${encodeURIComponent(`${ns}/**`)}`);
    const body = (await usage.json()) as { total: { bytes: number } };
    assert.equal(body.total.bytes, used);
  });
});

describe("wharf quota and wharf du", () => {
  let server: AuthServer;
  let admin: CliHome;
  let backend: Record<string, string>;
  let work: string;
  const reg = () => ["--registry", server.server.host];

  before(async () => {
    server = await startAuthServer();
    backend = await backendOf(server.dataDir);
    admin = await cliHome();
    work = await mkdtemp(join(tmpdir(), "wharf-quota-"));
    const login = await admin.run(["login", server.server.host, "-u", ADMIN.name, "--password-stdin"], {
      input: ADMIN.password,
    });
    assert.equal(login.code, 0, login.stderr);
  });
  after(async () => {
    await server?.stop();
    await admin?.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  test("du shows size, unique and shared bytes per repository and the namespace total counted once", async () => {
    const ns = `du${randomHex()}`;
    const shared = randomBytes(3000);
    const own = randomBytes(1000);
    await pushBlob(server.url, `${ns}/app`, shared, AUTH);
    await pushBlob(server.url, `${ns}/app`, own, AUTH);
    await pushBlob(server.url, `${ns}/lib`, shared, AUTH);
    const text = await admin.run(["du", `${ns}/**`, ...reg()]);
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout.trim().split("\n");
    assert.match(lines[0] ?? "", /^REPOSITORY\s+SIZE\s+UNIQUE\s+SHARED\s+BLOBS\s+MANIFESTS$/);
    assert.match(lines[1] ?? "", new RegExp(`^${ns}/app\\s+3\\.9 KiB\\s+1000 B\\s+2\\.9 KiB\\s+2\\s+0$`));
    assert.match(lines[2] ?? "", new RegExp(`^${ns}/lib\\s+2\\.9 KiB\\s+0 B\\s+2\\.9 KiB\\s+1\\s+0$`));
    assert.equal(lines[3], `TOTAL ${ns}/**: 3.9 KiB (4000 bytes, 2 digests, each counted once)`);
    const json = await admin.run(["du", `${ns}/**`, ...reg(), "--json"]);
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as {
      repositories: { repository: string; bytes: number; unique: number; shared: number }[];
      total: { bytes: number; digests: number };
    };
    assert.deepEqual(
      parsed.repositories.map((r) => [r.repository, r.bytes, r.unique, r.shared]),
      [
        [`${ns}/app`, 4000, 1000, 3000],
        [`${ns}/lib`, 3000, 0, 3000],
      ],
    );
    assert.deepEqual(parsed.total, { bytes: 4000, digests: 2 });
    // Straight in the database, as on a registry without accounts.
    const local = await admin.run(["du", `${ns}/**`, "--data-dir", server.dataDir, "--json"], {
      env: backend,
    });
    assert.equal(local.code, 0, local.stderr);
    assert.deepEqual((JSON.parse(local.stdout) as typeof parsed).total, parsed.total);
  });

  test("quota add, ls and rm; a push over the quota prints the DENIED message", async () => {
    const ns = `cli${randomHex()}`;
    await pushBlob(server.url, `${ns}/app`, randomBytes(2048), AUTH);
    const added = await admin.run(["quota", "add", "cli-team", `${ns}/**`, "4KiB", ...reg(), "--json"]);
    assert.equal(added.code, 0, added.stderr);
    assert.deepEqual(
      (({ name, repositories, limit, used }) => ({ name, repositories, limit, used }))(
        JSON.parse(added.stdout) as Quota,
      ),
      { name: "cli-team", repositories: `${ns}/**`, limit: 4096, used: 2048 },
    );
    const ls = await admin.run(["quota", ...reg()]);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(
      ls.stdout,
      new RegExp(`^cli-team\\s+${ns.replace(/[*]/g, "\\*")}/\\*\\*\\s+2 KiB\\s+4 KiB\\s+50%\\s+admin$`, "m"),
    );
    const bad = await admin.run(["quota", "add", "x", "a/**", "lots", ...reg()]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /invalid limit lots/);

    const file = join(work, "big.bin");
    await writeFile(file, randomBytes(8192));
    const push = await admin.run(["push", `${server.server.host}/${ns}/app:big`, file]);
    assert.equal(push.code, 4, push.stderr);
    assert.match(push.stderr, /DENIED: quota cli-team exceeded/);
    assert.match(
      push.stderr,
      new RegExp(
        `quota cli-team exceeded: ${ns}/\\*\\* would use [\\d.]+ KiB \\(\\d+ bytes\\) of 4 KiB \\(4096 bytes\\) allowed`,
      ),
    );
    const rmQuota = await admin.run(["quota", "rm", "cli-team", ...reg()]);
    assert.equal(rmQuota.code, 0, rmQuota.stderr);
    const again = await admin.run(["push", `${server.server.host}/${ns}/app:big`, file]);
    assert.equal(again.code, 0, again.stderr);
    // Audited, with the namespace and limit.
    const events = await adminCall(server.url, "GET", "/audit?action=quota.add");
    const { events: list } = (await events.json()) as { events: { target: string; detail: Quota }[] };
    assert.ok(list.some((e) => e.target === "cli-team" && e.detail.limit === 4096));
  });
});
