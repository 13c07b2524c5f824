/**
 * PostgreSQL-specific behaviour, whatever WHARF_TEST_BACKEND says: byte-order keys on a database whose
 * default collation is a locale's, the last administrator across two nodes, migrations by one node at a
 * time, a schema newer than the binary, and a bounded connection pool.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWharf, type TestServer } from "../helpers/server.js";
import { backendEnv, backendOf, createTestDatabase, queryPostgres } from "../helpers/backends.js";
import { pushImage } from "../spec/manifest-support.js";
import { bytes, uniqueRepo } from "../spec/support.js";
import { adminCall, ADMIN, bootstrapAdmin, type Credentials } from "../auth/support.js";

const servers: TestServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

async function start(backend: Record<string, string>, env: Record<string, string> = {}) {
  const server = await startWharf({ backend, env });
  servers.push(server);
  return server;
}

/** Byte order, as SQLite's BINARY collation and PostgreSQL's "C" compare. */
const byteOrder = (values: string[]) =>
  [...values].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

async function json<T>(res: Response, what: string): Promise<T> {
  const text = await res.text();
  assert.equal(res.status, 200, `${what}: ${text}`);
  return JSON.parse(text) as T;
}

describe("keys in byte order on a database with a locale's default collation", () => {
  let server: TestServer;
  before(async () => {
    // en-US orders `a` before `B` and `_x` before `a`: a common default for a database created by hand.
    const url = await createTestDatabase({ icuLocale: "en-US" });
    server = await start({ WHARF_METADATA_DRIVER: "postgres", WHARF_METADATA_URL: url });
  });

  test("tags list and paginate in byte order", async () => {
    const repo = uniqueRepo("collate");
    const tags = ["b", "B", "a", "A", "_x", "9", "a-b", "a.b", "a_b", "ab"];
    const image = await pushImage(server.url, repo, tags[0]);
    for (const tag of tags.slice(1)) {
      const res = await fetch(`${server.url}/v2/${repo}/manifests/${tag}`, {
        method: "PUT",
        headers: { "Content-Type": image.mediaType },
        body: bytes(image.body),
      });
      await res.arrayBuffer();
      assert.equal(res.status, 201);
    }
    const all = await json<{ tags: string[] }>(await fetch(`${server.url}/v2/${repo}/tags/list`), "tags");
    assert.deepEqual(all.tags, byteOrder(tags));
    // Page by page with `last`: every tag exactly once, in the same order.
    const paged: string[] = [];
    let last: string | undefined;
    for (let page = 0; page < tags.length; page++) {
      const query = `n=3${last === undefined ? "" : `&last=${encodeURIComponent(last)}`}`;
      const got = await json<{ tags: string[] }>(
        await fetch(`${server.url}/v2/${repo}/tags/list?${query}`),
        "tags page",
      );
      if (got.tags.length === 0) break;
      paged.push(...got.tags);
      last = got.tags.at(-1);
    }
    assert.deepEqual(paged, byteOrder(tags));
  });

  test("the catalog lists and paginates in byte order", async () => {
    const base = uniqueRepo("order");
    const repos = ["a-b", "a.b", "a/b", "a_b", "ab"].map((r) => `${base}/${r}`);
    for (const repo of repos) await pushImage(server.url, repo, "v1");
    const all = await json<{ repositories: string[] }>(await fetch(`${server.url}/v2/_catalog`), "catalog");
    assert.deepEqual(
      all.repositories.filter((r) => r.startsWith(`${base}/`)),
      byteOrder(repos),
    );
    const first = await json<{ repositories: string[] }>(
      await fetch(`${server.url}/v2/_catalog?n=2&last=${encodeURIComponent(byteOrder(repos)[1]!)}`),
      "catalog page",
    );
    assert.deepEqual(first.repositories, byteOrder(repos).slice(2, 4));
  });
});

describe("two administrators on two nodes removing each other", { timeout: 600_000 }, () => {
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "wharf-pg-admin-"));
    const backend = await backendOf(dataDir, await backendEnv("postgres"));
    await bootstrapAdmin(dataDir);
    a = await startWharf({ dataDir, backend });
    b = await start(backend);
  });
  after(async () => {
    await a?.stop();
    if (a) await rm(a.dataDir, { recursive: true, force: true });
  });

  test("at least one administrator always remains", async () => {
    let survivor: Credentials = ADMIN;
    for (let round = 0; round < 12; round++) {
      const other = { name: `admin-${round}`, password: `admin-Password-${round}` };
      const created = await adminCall(a.url, "POST", "/users", { ...other, admin: true }, survivor);
      assert.equal(created.status, 201, await created.text());
      // Each logs in once on the node it will use, so both requests go straight to the check.
      for (const [node, creds] of [
        [a, survivor],
        [b, other],
      ] as const) {
        const warm = await adminCall(node.url, "GET", "/whoami", undefined, creds);
        assert.equal(warm.status, 200, await warm.text());
      }
      const [x, y] = await Promise.all([
        adminCall(a.url, "DELETE", `/users/${other.name}`, undefined, survivor),
        adminCall(b.url, "DELETE", `/users/${survivor.name}`, undefined, other),
      ]);
      const statuses = [x.status, y.status];
      await Promise.all([x.arrayBuffer(), y.arrayBuffer()]);
      const admins = await queryPostgres<{ name: string }>(
        a.backend,
        "SELECT name FROM users WHERE admin = 1 ORDER BY name",
      );
      assert.equal(
        admins.length,
        1,
        `round ${round} (${statuses.join(",")}): admins ${JSON.stringify(admins)}`,
      );
      assert.equal(statuses.filter((s) => s === 204).length, 1, `round ${round}: ${statuses.join(",")}`);
      survivor = admins[0]!.name === other.name ? other : survivor;
    }
  });
});

describe("migrations on PostgreSQL", () => {
  test("three nodes started at once on a fresh database all come up, migrated once", async () => {
    const backend = await backendEnv("postgres");
    const nodes = await Promise.all([start(backend), start(backend), start(backend)]);
    for (const node of nodes) {
      const res = await fetch(`${node.url}/v2/`);
      await res.arrayBuffer();
      assert.equal(res.status, 200);
    }
    const rows = await queryPostgres<{ name: string; n: number }>(
      backend,
      "SELECT name, count(*)::int AS n FROM kysely_migration GROUP BY name ORDER BY name",
    );
    assert.ok(rows.length >= 5, JSON.stringify(rows));
    assert.ok(
      rows.every((r) => r.n === 1),
      `each migration applied once: ${JSON.stringify(rows)}`,
    );
  });

  test("a database with a migration this binary does not know is refused at start", async () => {
    const backend = await backendEnv("postgres");
    const first = await start(backend);
    await first.stop();
    await queryPostgres(backend, "INSERT INTO kysely_migration (name, timestamp) VALUES ($1, $2)", [
      "9999_from_the_future",
      new Date().toISOString(),
    ]);
    await assert.rejects(startWharf({ backend }), (err: Error) => {
      assert.match(err.message, /exited with [1-9]\d* before listening/);
      assert.match(
        err.message,
        /database schema is newer than this wharf: it has migration 9999_from_the_future/,
      );
      return true;
    });
  });
});

describe("the connection pool", () => {
  test("a node never holds more than metadata.poolSize connections", async () => {
    const backend = await backendEnv("postgres");
    const server = await start(backend, { WHARF_METADATA_POOL_SIZE: "3", WHARF_WORKERS: "1" });
    const repo = uniqueRepo("pool");
    await pushImage(server.url, repo, "v1");
    const samples: number[] = [];
    let running = true;
    const sampler = (async () => {
      while (running) {
        const [row] = await queryPostgres<{ n: number }>(
          backend,
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
        );
        samples.push(row?.n ?? 0);
      }
    })();
    const paths = [`/v2/${repo}/tags/list`, `/v2/_catalog`, `/v2/${repo}/manifests/v1`];
    const statuses = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const res = await fetch(`${server.url}${paths[i % paths.length]}`);
        await res.arrayBuffer();
        return res.status;
      }),
    );
    running = false;
    await sampler;
    assert.deepEqual(new Set(statuses), new Set([200]));
    assert.ok(samples.length > 0);
    // The node's pool was in use (the sampler saw it) and never above its bound.
    assert.ok(Math.max(...samples) >= 1, `samples: ${samples.join(",")}`);
    assert.ok(Math.max(...samples) <= 3, `connections seen: ${samples.join(",")}`);
  });
});
