import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { startWharf, type TestServer } from "../helpers/server.js";
import { startDistribution, type Distribution } from "./distribution.js";
import { startProxy, type TestProxy } from "./proxy.js";
import { cliHome, type CliHome } from "./cli.js";
import { rawTar, type RawEntry } from "./tar-fixtures.js";
import { describeBytes, manifestData } from "./fixtures.js";
import { bufferSource, Client, EMPTY_CONFIG } from "../../src/client/index.js";
import { MediaType } from "../../src/oci/media-types.js";
import { checkEntries } from "../../src/client/extract.js";

/** Pushes one layer named `title`, marked for unpacking when it is an archive. */
async function pushLayer(
  client: Client,
  host: string,
  repository: string,
  bytes: Buffer,
  title: string,
  unpack = true,
) {
  const registry = client.registry(host);
  await registry.pushBlob(repository, EMPTY_CONFIG, bufferSource(EMPTY_CONFIG.bytes));
  const layer = describeBytes(bytes, "application/vnd.oci.image.layer.v1.tar+gzip");
  layer.annotations = {
    "org.opencontainers.image.title": title,
    ...(unpack ? { "io.deis.oras.content.unpack": "true" } : {}),
  };
  await registry.pushBlob(repository, layer, bufferSource(bytes));
  const data = manifestData({
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    artifactType: "application/vnd.test",
    config: { mediaType: EMPTY_CONFIG.mediaType, digest: EMPTY_CONFIG.digest, size: EMPTY_CONFIG.size },
    layers: [layer],
  });
  await registry.putManifest(repository, "v1", data);
}

const malicious: { name: string; entries: RawEntry[]; reason: RegExp }[] = [
  {
    name: "path traversal",
    entries: [
      { name: "bundle/ok.txt", data: "fine" },
      { name: "bundle/../../escaped.txt", data: "pwned" },
    ],
    reason: /climbs out/,
  },
  {
    name: "absolute path",
    entries: [{ name: "/tmp/wharf-absolute-escape.txt", data: "pwned" }],
    reason: /absolute/,
  },
  {
    name: "symlink escape then write through it",
    entries: [
      { name: "bundle/link", type: "2", linkname: "../../../.." },
      { name: "bundle/link/escaped.txt", data: "pwned" },
    ],
    reason: /through symlink|points outside/,
  },
  {
    name: "symlink pointing outside",
    entries: [{ name: "bundle/passwd", type: "2", linkname: "/etc/passwd" }],
    reason: /points outside/,
  },
  {
    name: "symlink chain that escapes through another symlink",
    entries: [
      { name: "bundle/up", type: "2", linkname: "." },
      { name: "bundle/sneaky", type: "2", linkname: "up/../../x" },
    ],
    reason: /points outside/,
  },
  { name: "device file", entries: [{ name: "bundle/null", type: "3" }], reason: /CharacterDevice/ },
  {
    name: "hard link to outside",
    entries: [{ name: "bundle/h", type: "1", linkname: "../../etc/passwd" }],
    reason: /climbs out/,
  },
];

describe("bad input: malicious archives, misbehaving servers, bad references and credentials", () => {
  let server: TestServer;
  let cli: CliHome;
  let client: Client;
  before(async () => {
    server = await startWharf();
    cli = await cliHome();
    client = new Client();
  });
  after(async () => {
    client.close();
    await server.stop();
    await cli.cleanup();
  });

  test("every kind of escaping archive is refused, and nothing is written anywhere", async () => {
    for (const [i, { name, entries, reason }] of malicious.entries()) {
      await pushLayer(client, server.host, `evil/a${i}`, rawTar(entries), "bundle");
      // A target that already holds something: it must be left exactly as it was.
      const target = join(cli.dir, `target-${i}`);
      await mkdir(target);
      await writeFile(join(target, "keep.txt"), "mine");
      const result = await cli.run(["pull", `${server.host}/evil/a${i}:v1`, "-o", join(target, "out")]);
      assert.equal(result.code, 6, `${name}: ${result.stderr}`);
      assert.match(result.stderr, /refusing to extract/, name);
      assert.match(result.stderr, reason, name);
      assert.deepEqual(await readdir(target), ["keep.txt"], `${name}: nothing written to the target`);
    }
    assert.deepEqual(
      (await readdir(cli.dir)).filter((f) => f.includes("escaped")),
      [],
      "nothing escaped next to the targets",
    );
    await assert.rejects(readFile("/tmp/wharf-absolute-escape.txt"));
  });

  test("a pre-existing output directory is left untouched by a failed pull", async () => {
    await pushLayer(
      client,
      server.host,
      "evil/mixed",
      rawTar([
        { name: "bundle/a.txt", data: "new" },
        { name: "../x", data: "" },
      ]),
      "bundle",
    );
    const out = join(cli.dir, "existing");
    await mkdir(join(out, "bundle"), { recursive: true });
    await writeFile(join(out, "bundle", "a.txt"), "old");
    const result = await cli.run(["pull", `${server.host}/evil/mixed:v1`, "-o", out]);
    assert.equal(result.code, 6);
    assert.equal(await readFile(join(out, "bundle", "a.txt"), "utf8"), "old");
    assert.deepEqual(await readdir(out), ["bundle"], "no staging directory left behind");
  });

  test("a layer that is not an archive, or a title that escapes, is a clear error", async () => {
    await pushLayer(client, server.host, "evil/notar", Buffer.from("this is not a tarball at all"), "bundle");
    const notTar = await cli.run(["pull", `${server.host}/evil/notar:v1`, "-o", join(cli.dir, "notar")]);
    assert.equal(notTar.code, 5, notTar.stderr);
    assert.match(notTar.stderr, /not a valid tar archive/);

    await pushLayer(client, server.host, "evil/title", Buffer.from("data"), "../../escaped-title.txt", false);
    const title = await cli.run(["pull", `${server.host}/evil/title:v1`, "-o", join(cli.dir, "title")]);
    assert.equal(title.code, 6, title.stderr);
    assert.match(title.stderr, /not a relative path inside the output directory/);
    await assert.rejects(readFile(join(cli.dir, "..", "escaped-title.txt")));
  });

  test("checks of archive entries (unit)", () => {
    assert.doesNotThrow(() =>
      checkEntries(
        [
          { path: "a/", type: "Directory" },
          { path: "a/b.txt", type: "File" },
          { path: "a/link", type: "SymbolicLink", linkpath: "b.txt" },
          { path: "a/up", type: "SymbolicLink", linkpath: "../a/b.txt" },
          { path: "a/hard", type: "Link", linkpath: "a/b.txt" },
        ],
        "test",
      ),
    );
    assert.throws(() => checkEntries([{ path: "a", type: "FIFO" }], "test"), /FIFO/);
    assert.throws(
      () =>
        checkEntries(
          [
            { path: "d", type: "SymbolicLink", linkpath: "." },
            { path: "d/l", type: "SymbolicLink", linkpath: "../x" },
          ],
          "test",
        ),
      /through symlink|points outside/,
    );
  });

  describe("misbehaving registry", () => {
    let proxy: TestProxy;
    let mode: "corrupt" | "truncate" | "digest" = "corrupt";
    before(async () => {
      await pushLayer(client, server.host, "good/app", Buffer.from("x".repeat(50_000)), "payload.bin", false);
      proxy = await startProxy({
        target: server.url,
        handle: async (req, res, forward) => {
          const url = req.url ?? "";
          if (mode === "digest" && url.includes("/manifests/") && req.method === "GET") {
            const real = await forward();
            const body = Buffer.from(real.body.toString().replace("payload.bin", "payload.exe"));
            res.writeHead(200, {
              "content-type": MediaType.OciManifest,
              "docker-content-digest": real.headers["docker-content-digest"],
            });
            res.end(body);
            return true;
          }
          if (!url.includes("/blobs/sha256:") || req.method !== "GET") return false;
          const real = await forward();
          if (real.body.length < 1000) return false;
          if (mode === "corrupt") {
            const body = Buffer.from(real.body);
            body.writeUInt8(0x41 ^ body.readUInt8(100), 100);
            res.writeHead(200, { "content-length": String(body.length) }).end(body);
          } else if (mode === "truncate") {
            res.writeHead(200, { "content-length": String(real.body.length) });
            res.write(real.body.subarray(0, 1000));
            setTimeout(() => res.destroy(), 10);
          } else return false;
          return true;
        },
      });
    });
    after(async () => {
      await proxy.close();
    });

    test("wrong bytes for a digest: exit 5, nothing written, nothing cached", async () => {
      mode = "corrupt";
      const out = join(cli.dir, "corrupt");
      const result = await cli.run(["pull", `${proxy.host}/good/app:v1`, "-o", out]);
      assert.equal(result.code, 5, result.stderr);
      assert.match(result.stderr, /does not match its digest/);
      await assert.rejects(readdir(out));
    });

    test("a manifest that does not match its digest: exit 5", async () => {
      mode = "digest";
      const result = await cli.run([
        "pull",
        `${proxy.host}/good/app:v1`,
        "-o",
        join(cli.dir, "digest"),
        "--refresh",
      ]);
      assert.equal(result.code, 5, result.stderr);
      assert.match(result.stderr, /does not match its digest/);
    });

    test("a truncated download: exit 5 after retrying", async () => {
      mode = "truncate";
      const before = proxy.seen.length;
      const out = join(cli.dir, "truncated");
      const result = await cli.run(["pull", `${proxy.host}/good/app:v1`, "-o", out, "--refresh"]);
      assert.equal(result.code, 5, result.stderr);
      assert.match(result.stderr, /truncated/);
      const blobGets = proxy.seen
        .slice(before)
        .filter((r) => r.url.includes("/blobs/") && r.method === "GET");
      assert.ok(blobGets.length >= 2, "the download was retried");
      await assert.rejects(readdir(out));
    });
  });

  test("unknown references and bad reference syntax", async () => {
    const unknown = await cli.run(["pull", `${server.host}/no/such:v1`, "-o", join(cli.dir, "unknown")]);
    assert.equal(unknown.code, 3, unknown.stderr);
    assert.match(unknown.stderr, /no\/such:v1 not found/);
    const info = await cli.run(["info", `${server.host}/good/app:nope`, "--json"]);
    assert.equal(info.code, 3);
    assert.equal((JSON.parse(info.stdout) as { error: { exitCode: number } }).error.exitCode, 3);
    const syntax = await cli.run(["pull", "Not A Reference"]);
    assert.equal(syntax.code, 2);
    const short = await cli.run(["info", "team/app:v1"]);
    assert.equal(short.code, 2);
    assert.match(short.stderr, /WHARF_REGISTRY/);
    const viaEnv = await cli.run(["info", "good/app:v1"], { env: { WHARF_REGISTRY: server.host } });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
  });

  test("TLS: an untrusted certificate is refused with a hint; --ca-file trusts it", async (t) => {
    const dir = join(cli.dir, "tls");
    await mkdir(dir);
    // A name that is not loopback for wharf (so it insists on HTTPS) but resolves to 127.0.0.1: "127.1".
    const made = spawnSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "cert.pem",
        "-days",
        "1",
      ].concat(["-subj", "/CN=wharf-test", "-addext", "subjectAltName=DNS:127.1,IP:127.0.0.1"]),
      { cwd: dir },
    );
    if ((made.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT")
      return t.skip("openssl is not installed");
    assert.equal(made.status, 0, `openssl failed to make a certificate: ${String(made.stderr)}`);
    const proxy = await startProxy({
      target: server.url,
      tls: { key: await readFile(join(dir, "key.pem")), cert: await readFile(join(dir, "cert.pem")) },
    });
    try {
      const host = `127.1:${new URL(proxy.url).port}`;
      const untrusted = await cli.run(["info", `${host}/good/app:v1`]);
      assert.equal(untrusted.code, 7, untrusted.stderr);
      assert.match(untrusted.stderr, /TLS connection to .* failed.*--ca-file/);
      const trusted = await cli.run([
        "info",
        `${host}/good/app:v1`,
        "--ca-file",
        join(dir, "cert.pem"),
        "--json",
      ]);
      assert.equal(trusted.code, 0, trusted.stderr);
      assert.ok(
        proxy.seen.some((r) => r.url.includes("/manifests/")),
        "spoke HTTPS to the proxy",
      );
    } finally {
      await proxy.close();
    }
  });

  describe("credentials", () => {
    let distribution: Distribution;
    before(async () => {
      distribution = await startDistribution({ users: { alice: "wonderland" } });
    });
    after(async () => {
      await distribution.stop();
    });

    test("login with wrong, then right credentials; push and pull with them; logout", async () => {
      const configFile = join(cli.env.DOCKER_CONFIG as string, "config.json");
      const anonymous = await cli.run([
        "push",
        `${distribution.host}/secure/app:v1`,
        join(cli.dir, "cli-home-marker"),
      ]);
      assert.notEqual(anonymous.code, 0);

      const wrong = await cli.run(["login", distribution.host, "-u", "alice", "--password-stdin"], {
        input: "nope\n",
      });
      assert.equal(wrong.code, 4, wrong.stderr);
      assert.match(wrong.stderr, /login to .* failed/);
      await assert.rejects(readFile(configFile), "nothing stored after a failed login");

      const right = await cli.run(["login", distribution.host, "-u", "alice", "--password-stdin"], {
        input: "wonderland\n",
      });
      assert.equal(right.code, 0, right.stderr);
      const config = JSON.parse(await readFile(configFile, "utf8")) as {
        auths: Record<string, { auth: string }>;
      };
      assert.equal(
        Buffer.from(config.auths[distribution.host]?.auth ?? "", "base64").toString(),
        "alice:wonderland",
      );

      const file = join(cli.dir, "secret.txt");
      await writeFile(file, "secret");
      const pushed = await cli.run(["push", `${distribution.host}/secure/app:v1`, file]);
      assert.equal(pushed.code, 0, pushed.stderr);
      const pulled = await cli.run([
        "pull",
        `${distribution.host}/secure/app:v1`,
        "-o",
        join(cli.dir, "secure"),
      ]);
      assert.equal(pulled.code, 0, pulled.stderr);
      assert.equal(await readFile(join(cli.dir, "secure", "secret.txt"), "utf8"), "secret");

      const logout = await cli.run(["logout", distribution.host]);
      assert.equal(logout.code, 0);
      const denied = await cli.run(["info", `${distribution.host}/secure/app:v1`, "--no-referrers"]);
      assert.equal(denied.code, 4, denied.stderr);
      assert.match(denied.stderr, /wharf login/);
    });
  });
});
