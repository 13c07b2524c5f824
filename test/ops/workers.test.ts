/**
 * `wharf serve --workers N`: N processes share the address (node:cluster), each a full node on the same
 * backends, so that any request may land on any of them, a worker that dies is replaced, and the whole
 * set stops together.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { request, type IncomingMessage } from "node:http";
import { once } from "node:events";
import { startWharf, type TestServer } from "../helpers/server.js";
import {
  bytes,
  digest,
  pushManifest,
  randomBlob,
  startUpload,
  uniqueRepo,
  waitFor,
  withDigest,
} from "../spec/support.js";

const MiB = 1024 * 1024;

/** Pids of the supervisor's worker processes (its children running wharf). */
function workerPids(server: TestServer): number[] {
  const supervisor = server.process.pid ?? 0;
  const children = readFileSync(`/proc/${supervisor}/task/${supervisor}/children`, "utf8");
  return children.split(/\s+/).filter(Boolean).map(Number);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The worker index in each request log line for `path`, in order. */
function workersServing(server: TestServer, method: string, path: string): number[] {
  return server
    .output()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { msg?: string; method?: string; url?: string; worker?: number })
    .filter((entry) => entry.msg === "request" && entry.method === method && entry.url?.startsWith(path))
    .map((entry) => entry.worker ?? -1);
}

/** A fresh connection per request (node:http without an agent), so the supervisor hands each to the next worker. */
async function freshFetch(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: Uint8Array } = {},
): Promise<Response> {
  const req = request(url, { method: init.method ?? "GET", headers: init.headers, agent: false });
  req.end(init.body ? Buffer.from(init.body) : undefined);
  const [res] = (await once(req, "response")) as [IncomingMessage];
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const headers = new Headers();
  for (const [key, value] of Object.entries(res.headers)) {
    if (typeof value === "string") headers.set(key, value);
  }
  return new Response(res.statusCode === 204 ? null : Buffer.concat(chunks), {
    status: res.statusCode,
    headers,
  });
}

describe("wharf serve --workers 2", { timeout: 180_000 }, () => {
  let server: TestServer;
  before(async () => {
    server = await startWharf({ args: ["--workers", "2"], env: { WHARF_LOG_LEVEL: "info" } });
  });
  after(async () => {
    await server?.stop();
  });

  test("runs two worker processes under one supervisor", () => {
    const pids = workerPids(server);
    assert.equal(pids.length, 2, `children ${pids.join(",")}`);
    assert.ok(pids.every(alive));
  });

  test("a chunked upload whose chunks land on different workers completes, verified, on either", async () => {
    const repo = uniqueRepo("workers");
    const data = randomBlob(6 * MiB + 123);
    const location = await startUpload(server.url, repo);
    const path = new URL(location).pathname;
    let offset = 0;
    let next = location;
    const chunk = MiB;
    while (offset < data.length) {
      const end = Math.min(offset + chunk, data.length);
      const res = await freshFetch(next, {
        method: "PATCH",
        headers: { "Content-Range": `${offset}-${end - 1}`, "Content-Type": "application/octet-stream" },
        body: bytes(data.subarray(offset, end)),
      });
      await res.arrayBuffer();
      assert.equal(res.status, 202);
      next = new URL(res.headers.get("location") ?? "", server.url).toString();
      offset = end;
    }
    const put = await freshFetch(withDigest(next, digest(data)), { method: "PUT" });
    assert.equal(put.status, 201, await put.text());
    await waitFor(async () => workersServing(server, "PATCH", path).length === 7, 5000, "request logs");
    const served = new Set(workersServing(server, "PATCH", path));
    assert.deepEqual([...served].sort(), [0, 1], "both workers took chunks");
    for (let i = 0; i < 2; i++) {
      const got = await freshFetch(`${server.url}/v2/${repo}/blobs/${digest(data)}`);
      assert.ok(Buffer.from(await got.arrayBuffer()).equals(data));
    }
    const wrong = await startUpload(server.url, repo);
    const patched = await freshFetch(wrong, { method: "PATCH", body: bytes(data.subarray(0, MiB)) });
    await patched.arrayBuffer();
    const bad = await freshFetch(
      withDigest(new URL(patched.headers.get("location") ?? "", server.url).toString(), digest(data)),
      {
        method: "PUT",
      },
    );
    assert.equal(bad.status, 400, "a digest that does not match is refused on any worker");
  });

  test("simultaneous manifest pushes through both workers all land", async () => {
    const repo = uniqueRepo("workers");
    const config = Buffer.from("{}");
    const configDigest = digest(config);
    const pushed = await freshFetch(`${server.url}/v2/${repo}/blobs/uploads/?digest=${configDigest}`, {
      method: "POST",
      body: bytes(config),
    });
    assert.equal(pushed.status, 201);
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        pushManifest(server.url, repo, `t${i}`, { digest: configDigest, size: config.length }, []),
      ),
    );
    const list = (await (await fetch(`${server.url}/v2/${repo}/tags/list`)).json()) as { tags: string[] };
    assert.equal(list.tags.length, 40);
  });

  test("a worker killed with SIGKILL is replaced and the registry keeps serving", async () => {
    const [victim] = workerPids(server);
    process.kill(victim ?? 0, "SIGKILL");
    await waitFor(async () => !alive(victim ?? 0), 5000, "the worker to die");
    await waitFor(async () => workerPids(server).length === 2, 10_000, "a replacement worker");
    assert.ok(!workerPids(server).includes(victim ?? 0));
    for (let i = 0; i < 4; i++) {
      const res = await freshFetch(`${server.url}/v2/`);
      await res.arrayBuffer();
      assert.equal(res.status, 200);
    }
    assert.match(server.output(), /a worker stopped unexpectedly; starting another/);
  });
});

describe("stopping a set of workers", { timeout: 120_000 }, () => {
  test("SIGTERM stops every worker and releases the data directory for the next server", async () => {
    const first = await startWharf({ args: ["--workers", "2"] });
    const pids = workerPids(first);
    await first.stop({ keepData: true });
    assert.equal(first.process.exitCode, 0);
    await waitFor(async () => pids.every((p) => !alive(p)), 5000, "workers to exit");
    const second = await startWharf({
      dataDir: first.dataDir,
      backend: first.backend,
      args: ["--workers", "2"],
    });
    const res = await fetch(`${second.url}/v2/`);
    assert.equal(res.status, 200);
    await second.stop();
  });

  test("workers exit by themselves when the supervisor is killed with SIGKILL", async () => {
    const server = await startWharf({ args: ["--workers", "2"] });
    const pids = workerPids(server);
    server.process.kill("SIGKILL");
    await waitFor(async () => pids.every((p) => !alive(p)), 35_000, "orphaned workers to exit");
    await server.stop();
  });

  test("without --workers there is one worker per CPU", async () => {
    const server = await startWharf({ env: { WHARF_WORKERS: "0" } });
    const { availableParallelism } = await import("node:os");
    const expected = availableParallelism();
    if (expected > 1) assert.equal(workerPids(server).length, expected);
    else assert.equal(workerPids(server).length, 0, "one CPU: the server process serves itself");
    await server.stop();
  });
});
