/**
 * The data directory is private to the server's user whatever the umask, and belongs to one process
 * at a time: a second `wharf serve` is refused while a server holds it, and a server killed with
 * SIGKILL leaves nothing that blocks the next start.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { chmod, lstat, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWharf } from "../helpers/server.js";
import { runWharf } from "../client/cli.js";
import { ADMIN, basic, bootstrapAdmin } from "../auth/support.js";
import { digest, randomBlob, uniqueRepo } from "../spec/support.js";

const env = { ...process.env, WHARF_LOG_LEVEL: "warn" } as Record<string, string>;

/** Every entry under `dir` (itself included) with its permission bits. */
async function modes(dir: string): Promise<Map<string, { mode: number; isDir: boolean }>> {
  const found = new Map<string, { mode: number; isDir: boolean }>();
  const walk = async (path: string) => {
    const info = await lstat(path);
    found.set(path, { mode: info.mode & 0o777, isDir: info.isDirectory() });
    if (info.isDirectory()) for (const entry of await readdir(path)) await walk(join(path, entry));
  };
  await walk(dir);
  return found;
}

function assertPrivate(found: Map<string, { mode: number; isDir: boolean }>): void {
  for (const [path, { mode, isDir }] of found) {
    const wanted = isDir ? 0o700 : 0o600;
    assert.equal(mode.toString(8), wanted.toString(8), `${path} has mode ${mode.toString(8)}`);
  }
}

async function pushAsAdmin(url: string, repo: string, data: Buffer): Promise<string> {
  const d = digest(data);
  const res = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${d}`, {
    method: "POST",
    headers: { Authorization: basic(ADMIN), "Content-Type": "application/octet-stream" },
    body: new Uint8Array(data),
  });
  await res.arrayBuffer();
  assert.equal(res.status, 201);
  return d;
}

describe("a private data directory", { timeout: 120_000 }, () => {
  const dirs: string[] = [];
  let savedUmask: number;
  before(() => {
    // Children inherit it: the server and the bootstrap command run with the loosest umask there is.
    savedUmask = process.umask(0o000);
  });
  after(async () => {
    process.umask(savedUmask);
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  test("everything the bootstrap command and the server create is 0700/0600, even with umask 000", async () => {
    const parent = await mkdtemp(join(tmpdir(), "wharf-ops-"));
    dirs.push(parent);
    const dataDir = join(parent, "data");
    await bootstrapAdmin(dataDir);
    const server = await startWharf({ dataDir });
    try {
      const repo = uniqueRepo("ops");
      await pushAsAdmin(server.url, repo, randomBlob(2000));
      // An upload left open, and a token issued (the signing key is in use).
      const upload = await fetch(`${server.url}/v2/${repo}/blobs/uploads/`, {
        method: "POST",
        headers: { Authorization: basic(ADMIN) },
      });
      await upload.arrayBuffer();
      assert.equal(upload.status, 202);
      const token = await fetch(`${server.url}/auth/token?service=wharf&scope=repository:${repo}:pull`, {
        headers: { Authorization: basic(ADMIN) },
      });
      await token.arrayBuffer();
      assert.equal(token.status, 200);

      const found = await modes(dataDir);
      const names = [...found.keys()].map((p) => p.slice(dataDir.length));
      // The token signing key is in the database (metadata.db), not in a file of its own.
      for (const expected of ["/metadata.db", "/metadata.db-wal"]) {
        assert.ok(names.includes(expected), `expected ${expected} among ${names.join(", ")}`);
      }
      assert.ok(
        names.some((n) => n.startsWith("/storage/blobs/sha256/")),
        "a stored blob",
      );
      assert.ok(
        names.some((n) => /^\/storage\/uploads\/./.test(n)),
        "an upload file",
      );
      assertPrivate(found);
    } finally {
      await server.stop({ keepData: true });
    }
  });

  test("an existing data directory readable by others is tightened at start, with a warning", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "wharf-ops-"));
    dirs.push(dataDir);
    const first = await startWharf({ dataDir });
    await first.stop({ keepData: true });
    await chmod(dataDir, 0o755);
    await chmod(join(dataDir, "metadata.db"), 0o644);
    await chmod(join(dataDir, "storage"), 0o755);

    const server = await startWharf({ dataDir });
    try {
      for (const [path, wanted] of [
        [dataDir, 0o700],
        [join(dataDir, "metadata.db"), 0o600],
        [join(dataDir, "storage"), 0o700],
      ] as const) {
        assert.equal(((await stat(path)).mode & 0o777).toString(8), wanted.toString(8), path);
      }
      const warning = server
        .output()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as { level: string; msg: string; count?: number })
        .find((l) => /made it private/.test(l.msg));
      assert.ok(warning, `expected a warning about the modes:\n${server.output()}`);
      assert.equal(warning.level, "warn");
      assert.equal(warning.count, 3);
    } finally {
      await server.stop({ keepData: true });
    }
  });
});

describe("one server per data directory", { timeout: 120_000 }, () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "wharf-ops-"));
    await bootstrapAdmin(dataDir);
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  test("a second serve is refused naming the holder; SIGKILL leaves no stale lock; bootstrap works beside the server", async () => {
    const first = await startWharf({ dataDir });
    const repo = uniqueRepo("ops");
    const data = randomBlob(3000);
    const blob = await pushAsAdmin(first.url, repo, data);

    // A file the running server owns, loosened on purpose: the refused server must leave it as it is.
    const metadata = join(dataDir, "metadata.db");
    await chmod(metadata, 0o644);
    const second = await runWharf(["serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir], env);
    assert.equal((await stat(metadata)).mode & 0o777, 0o644, "the refused serve changed the holder's files");
    await chmod(metadata, 0o600);
    assert.notEqual(second.code, 0, second.stderr);
    assert.doesNotMatch(second.stdout, /listening on/);
    const refusal = JSON.parse(second.stderr.trim().split("\n").pop() ?? "") as {
      level: string;
      msg: string;
    };
    assert.equal(refusal.level, "fatal");
    assert.match(refusal.msg, /in use by wharf serve/);
    assert.match(refusal.msg, new RegExp(`pid ${first.process.pid}\\b`));
    assert.match(refusal.msg, new RegExp(first.url.replace(/[.]/g, "\\.")));

    // The first server is unharmed by the attempt.
    const head = await fetch(`${first.url}/v2/${repo}/blobs/${blob}`, {
      method: "HEAD",
      headers: { Authorization: basic(ADMIN) },
    });
    assert.equal(head.status, 200);

    first.process.kill("SIGKILL");
    await once(first.process, "exit");
    const third = await startWharf({ dataDir });
    try {
      const res = await fetch(`${third.url}/v2/${repo}/blobs/${blob}`, {
        headers: { Authorization: basic(ADMIN) },
      });
      assert.equal(res.status, 200);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), data);

      // The bootstrap command is no second server: it works beside the running one, through SQLite's
      // own locking, and the running server knows the new account at once.
      const bootstrap = await runWharf(
        ["user", "add", "carol", "--password-stdin", "--data-dir", dataDir],
        env,
        "carol-password-1",
      );
      assert.equal(bootstrap.code, 0, bootstrap.stderr);
      const carol = await fetch(`${third.url}/v2/`, {
        headers: { Authorization: basic({ name: "carol", password: "carol-password-1" }) },
      });
      await carol.arrayBuffer();
      assert.equal(carol.status, 200);
    } finally {
      await third.stop({ keepData: true });
    }
  });
});
