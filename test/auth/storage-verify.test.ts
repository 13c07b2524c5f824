/**
 * `wharf storage verify` against a running, auth-enabled server: blob files corrupted (same size, other
 * bytes) or deleted on disk are reported, corrupt ones stop being served, and pushing them again repairs.
 */
import { filesystemOnly } from "../helpers/backends.js";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { cliHome, type CliHome, type CliResult } from "../client/cli.js";
import {
  ADMIN,
  adminCall,
  bearer,
  digest,
  getToken,
  pushBlob,
  pushImage,
  startAuthServer,
  type AuthServer,
  type PushedImage,
} from "./support.js";
import { blobFile } from "../spec/storage-support.js";

interface Report {
  checkedBlobs: number;
  totalBlobs: number;
  corrupt: number;
  missing: number;
  problems: { digest: string; size: number; problem: string; detail: string }[];
  truncated: boolean;
}

let server: AuthServer;
let home: CliHome;
let auth: string;
let image: PushedImage;
let lost: Buffer;
const repo = "verify/app";
const wharfBin = resolve(import.meta.dirname, "..", "..", "bin", "wharf");

function show(result: CliResult): string {
  return `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
}

function verify(...args: string[]): Promise<CliResult> {
  return home.run(["storage", "verify", "--registry", server.server.host, ...args]);
}

before(async () => {
  server = await startAuthServer();
  home = await cliHome();
  const login = await home.run(["login", server.server.host, "-u", ADMIN.name, "--password-stdin"], {
    input: ADMIN.password,
  });
  assert.equal(login.code, 0, show(login));
  auth = bearer(await getToken(server.url, [`repository:${repo}:pull,push`], ADMIN));
  image = await pushImage(server.url, repo, "v1", auth);
  lost = randomBytes(5000);
  await pushBlob(server.url, repo, lost, auth);
});

after(async () => {
  await server?.stop();
  await home?.cleanup();
});

async function blobStatus(d: string, method = "GET"): Promise<{ status: number; body: Buffer }> {
  const res = await fetch(`${server.url}/v2/${repo}/blobs/${d}`, {
    method,
    headers: { Authorization: auth },
  });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

describe("wharf storage verify", { skip: filesystemOnly("damages blob files to find") }, () => {
  let layerBytes: Buffer;

  test("an intact registry verifies clean: exit 0, every blob checked", async () => {
    const result = await verify("--json");
    assert.equal(result.code, 0, show(result));
    const report = JSON.parse(result.stdout) as Report;
    assert.equal(report.checkedBlobs, 3); // config, layer, the extra blob
    assert.equal(report.corrupt + report.missing, 0);
    assert.deepEqual(report.problems, []);
  });

  test("reports a corrupt and a missing blob, exits non-zero and takes the corrupt one out of service", async () => {
    const layerFile = blobFile(server.dataDir, image.layer.digest);
    layerBytes = await readFile(layerFile);
    const bad = Buffer.from(layerBytes.map((b) => b ^ 0x5a));
    await writeFile(layerFile, bad);
    assert.equal((await blobStatus(image.layer.digest)).status, 200, "before: the bad bytes are served");
    await rm(blobFile(server.dataDir, digest(lost)));

    const result = await verify("--json");
    assert.equal(result.code, 5, show(result));
    const report = JSON.parse(result.stdout) as Report;
    assert.equal(report.checkedBlobs, 3);
    assert.equal(report.corrupt, 1);
    assert.equal(report.missing, 1);
    const byDigest = new Map(report.problems.map((p) => [p.digest, p]));
    assert.equal(byDigest.get(image.layer.digest)?.problem, "corrupt");
    assert.match(byDigest.get(image.layer.digest)?.detail ?? "", /hashes to sha256:/);
    assert.equal(byDigest.get(digest(lost))?.problem, "missing");
    assert.equal(byDigest.has(image.config.digest), false, "the intact config is not reported");

    // The bad bytes are no longer served: unknown until pushed again; kept aside for inspection.
    const get = await blobStatus(image.layer.digest);
    assert.equal(get.status, 404);
    assert.match(get.body.toString(), /BLOB_UNKNOWN/);
    assert.equal((await blobStatus(image.layer.digest, "HEAD")).status, 404);
    const [, hex] = image.layer.digest.split(":");
    const kept = await readFile(join(server.dataDir, "storage", "quarantine", `sha256-${hex}`));
    assert.ok(kept.equals(bad), "the corrupt copy is kept in quarantine");
    await assert.rejects(stat(blobFile(server.dataDir, image.layer.digest)));
    // Intact blobs are untouched.
    assert.equal((await blobStatus(image.config.digest)).status, 200);

    // Audited: who ran it, and what was taken out of service.
    const res = await adminCall(server.url, "GET", "/audit?action=blob.quarantine");
    const { events } = (await res.json()) as { events: { actor: string; target: string }[] };
    assert.ok(events.some((e) => e.target === image.layer.digest && e.actor === ADMIN.name));
    const started = await adminCall(server.url, "GET", "/audit?action=storage.verify.");
    const startEvents = (await started.json()) as { events: { action: string }[] };
    const actions = startEvents.events.map((e) => e.action);
    assert.ok(actions.includes("storage.verify.start") && actions.includes("storage.verify.finish"));
  });

  test("pushing the blobs again repairs them and the next run is clean, quiet when piped", async () => {
    await pushBlob(server.url, repo, layerBytes, auth);
    await pushBlob(server.url, repo, lost, auth);
    const got = await blobStatus(image.layer.digest);
    assert.equal(got.status, 200);
    assert.ok(got.body.equals(layerBytes));

    const result = await verify();
    assert.equal(result.code, 0, show(result));
    assert.match(result.stdout, /Checked 3 blobs .*: all intact\./);
    assert.ok(!result.stderr.includes("\x1b["), "no progress drawing when stderr is not a terminal");
  });

  test("on a terminal it draws progress", async () => {
    // script(1) gives the command a real pseudo-terminal; its output is what the terminal showed.
    const command = [process.execPath, wharfBin, "storage", "verify", "--registry", server.server.host]
      .map((arg) => `'${arg}'`)
      .join(" ");
    const result = await new Promise<CliResult>((done, fail) => {
      const child = spawn("script", ["-qec", command, "/dev/null"], { env: home.env });
      let stdout = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      child.on("error", fail);
      child.on("close", (code) => done({ code: code ?? -1, stdout, stderr: "" }));
    });
    assert.equal(result.code, 0, show(result));
    assert.ok(result.stdout.includes("\x1b[2K"), `no progress line drawn: ${JSON.stringify(result.stdout)}`);
    assert.match(result.stdout, /verifying blobs/);
    assert.match(result.stdout, /all intact/);
  });

  test("needs an administrator", async () => {
    const anonymous = await fetch(`${server.url}/api/v1/storage/verify`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    await anonymous.arrayBuffer();
    assert.equal(anonymous.status, 401);
    const noLogin = await cliHome();
    try {
      const result = await noLogin.run(["storage", "verify", "--registry", server.server.host]);
      assert.notEqual(result.code, 0, show(result));
    } finally {
      await noLogin.cleanup();
    }
  });
});

describe(
  "storage verify beside a re-push of the blob it is checking",
  { skip: filesystemOnly("damages blob files to find"), timeout: 120_000 },
  () => {
    let own: AuthServer;
    before(async () => {
      own = await startAuthServer();
    });
    after(async () => {
      await own?.stop();
    });

    interface VerifyState {
      state: string;
      progress?: { checkedBytes: number; totalBytes: number };
      report?: Report;
    }

    async function verifyState(method = "GET"): Promise<VerifyState> {
      const res = await adminCall(own.url, method, "/storage/verify", method === "POST" ? {} : undefined);
      assert.ok(res.status === 200 || res.status === 202, `verify ${method}: ${res.status}`);
      return (await res.json()) as VerifyState;
    }

    test("a good copy committed while the bad one is read again is not taken out of service", async () => {
      const repoName = "verify/race";
      const token = bearer(await getToken(own.url, [`repository:${repoName}:pull,push`], ADMIN));
      // Big enough that the second read of the bad copy is still going on when the re-push commits.
      const good = randomBytes(64 * 1024 * 1024);
      const d = digest(good);
      await pushBlob(own.url, repoName, good, token);
      await writeFile(blobFile(own.dataDir, d), Buffer.from(good.map((b) => b ^ 0x5a)));

      // The re-push, up to its last step: the data is uploaded, only the commit (PUT ?digest=) remains.
      const started = await fetch(`${own.url}/v2/${repoName}/blobs/uploads/`, {
        method: "POST",
        headers: { Authorization: token },
      });
      await started.arrayBuffer();
      const location = new URL(started.headers.get("location") ?? "", own.url);
      const patched = await fetch(location, {
        method: "PATCH",
        headers: { Authorization: token, "Content-Type": "application/octet-stream" },
        body: new Uint8Array(good),
      });
      await patched.arrayBuffer();
      assert.equal(patched.status, 202);

      assert.equal((await verifyState("POST")).state, "running");
      // The first read counts its bytes; once it has counted them all, the second read is under way.
      let state = await verifyState();
      for (let i = 0; i < 5000 && state.state === "running"; i++) {
        if ((state.progress?.checkedBytes ?? 0) >= good.length) break;
        state = await verifyState();
      }
      location.searchParams.set("digest", d);
      const committed = await fetch(location, { method: "PUT", headers: { Authorization: token } });
      await committed.arrayBuffer();
      assert.equal(committed.status, 201);

      for (let i = 0; i < 1000 && state.state === "running"; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        state = await verifyState();
      }
      assert.equal(state.state, "done");
      const res = await fetch(`${own.url}/v2/${repoName}/blobs/${d}`, { headers: { Authorization: token } });
      assert.equal(res.status, 200, "the repaired blob was quarantined");
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(good));
    });
  },
);

/**
 * Durability of the quarantine, seen in the system calls the server makes (strace attached to it): the
 * rename out of service is followed by an fsync of the quarantine directory it moved the file into.
 */
const strace = spawnSync("strace", ["-V"]).status === 0;
describe(
  "quarantine durability",
  {
    skip: filesystemOnly("traces the rename syscalls") || (strace ? false : "needs strace"),
    timeout: 120_000,
  },
  () => {
    let own: AuthServer;
    before(async () => {
      own = await startAuthServer();
    });
    after(async () => {
      await own?.stop();
    });

    test("the quarantine directory is fsynced after the rename into it", async () => {
      const repoName = "verify/durable";
      const token = bearer(await getToken(own.url, [`repository:${repoName}:pull,push`], ADMIN));
      const data = randomBytes(4096);
      const d = digest(data);
      await pushBlob(own.url, repoName, data, token);
      await writeFile(blobFile(own.dataDir, d), Buffer.from(data.map((b) => b ^ 0x5a)));

      const log = join(own.dataDir, "..", `strace-${process.pid}-${Date.now()}.log`);
      const tracer = spawn("strace", [
        ...["-f", "-qq", "-s", "4096", "-o", log],
        ...["-e", "trace=openat,fsync,rename,renameat,renameat2"],
        ...["-p", String(own.server.process.pid)],
      ]);
      try {
        // strace says nothing when it is attached: wait until the log shows traced calls.
        for (let i = 0; i < 100; i++) {
          await adminCall(own.url, "GET", "/storage/verify").then((r) => r.arrayBuffer());
          if ((await readFile(log, "utf8").catch(() => "")).includes("openat(")) break;
          await new Promise((done) => setTimeout(done, 50));
        }
        const started = await adminCall(own.url, "POST", "/storage/verify", {});
        await started.arrayBuffer();
        let state = "running";
        for (let i = 0; i < 500 && state === "running"; i++) {
          await new Promise((done) => setTimeout(done, 20));
          const res = await adminCall(own.url, "GET", "/storage/verify");
          state = ((await res.json()) as { state: string }).state;
        }
        assert.equal(state, "done");
      } finally {
        tracer.kill("SIGINT");
        await new Promise((done) => tracer.once("exit", done));
      }
      const calls = (await readFile(log, "utf8")).split("\n");
      await rm(log, { force: true });
      const quarantineDir = join(own.dataDir, "storage", "quarantine");
      const renamed = calls.findIndex((l) => /rename/.test(l) && l.includes(`${quarantineDir}/sha256-`));
      assert.ok(renamed >= 0, "the rename into quarantine was not traced");
      const after = calls.slice(renamed + 1);
      const opened = after
        .map((l) => new RegExp(`openat\\(AT_FDCWD, "${quarantineDir}", [^)]*\\) = (\\d+)`).exec(l)?.[1])
        .find((fd) => fd !== undefined);
      assert.ok(opened, "the quarantine directory is not opened after the rename");
      assert.ok(
        after.some((l) => l.includes(`fsync(${opened})`)),
        "the quarantine directory is not fsynced after the rename",
      );
    });
  },
);
