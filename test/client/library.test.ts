import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWharf, type TestServer } from "../helpers/server.js";
import { startDistribution, type Distribution } from "./distribution.js";
import { startProxy } from "./proxy.js";
import { describeBytes, manifestData, pushArtifact, readAll, sha256 } from "./fixtures.js";
import {
  AuthError,
  bufferSource,
  Client,
  IntegrityError,
  NotFoundError,
  parseChallenges,
  parseReference,
  UsageError,
} from "../../src/client/index.js";
import { MediaType } from "../../src/oci/media-types.js";

const fastRetry = { retries: 3, baseDelayMs: 10, maxDelayMs: 50 };

describe("references", () => {
  test("registry references with ports, tags and digests", () => {
    const digest = sha256("x");
    assert.deepEqual(parseReference(`127.0.0.1:5000/team/app:v1@${digest}`), {
      kind: "registry",
      registry: "127.0.0.1:5000",
      repository: "team/app",
      tag: "v1",
      digest,
    });
    assert.deepEqual(parseReference("oci://ghcr.io/org/charts/app:1.2.3"), {
      kind: "registry",
      registry: "ghcr.io",
      repository: "org/charts/app",
      tag: "1.2.3",
    });
    assert.deepEqual(parseReference("localhost:5000/app"), {
      kind: "registry",
      registry: "localhost:5000",
      repository: "app",
    });
  });

  test("short names use the default registry, or fail clearly without one", () => {
    assert.deepEqual(parseReference("team/app:v2", { defaultRegistry: "reg.example.com" }), {
      kind: "registry",
      registry: "reg.example.com",
      repository: "team/app",
      tag: "v2",
    });
    assert.throws(() => parseReference("team/app:v2"), /WHARF_REGISTRY/);
  });

  test("OCI layouts and invalid input", () => {
    assert.deepEqual(parseReference("oci:./out/layout:v1"), {
      kind: "layout",
      path: "./out/layout",
      tag: "v1",
    });
    assert.deepEqual(parseReference("oci:/tmp/a"), { kind: "layout", path: "/tmp/a" });
    assert.throws(() => parseReference("example.com/Team/App"), UsageError);
    assert.throws(() => parseReference("example.com/app@sha256:abc"), /bad digest/);
  });

  test("WWW-Authenticate challenges with quoted commas", () => {
    const [bearer] = parseChallenges(
      'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push"',
    );
    assert.equal(bearer?.scheme, "bearer");
    assert.equal(bearer?.params.scope, "repository:a/b:pull,push");
    assert.equal(bearer?.params.realm, "https://auth.example.com/token");
    assert.deepEqual(
      parseChallenges('Basic realm="x", Bearer realm="y"').map((c) => c.scheme),
      ["basic", "bearer"],
    );
  });
});

describe("registry API against wharf serve", () => {
  let server: TestServer;
  let client: Client;
  before(async () => {
    server = await startWharf();
    client = new Client({ retry: fastRetry, env: { HOME: tmpdir() } });
  });
  after(async () => {
    client.close();
    await server.stop();
  });

  test("monolithic and chunked uploads give verified blobs", async () => {
    const registry = client.registry(server.host);
    const small = randomBytes(1000);
    const big = randomBytes(300_000);
    await registry.pushBlob("lib/blobs", describeBytes(small), bufferSource(small));
    const chunked = new Client({ retry: fastRetry, chunkSize: 64 * 1024, env: { HOME: tmpdir() } });
    try {
      await chunked.registry(server.host).pushBlob("lib/blobs", describeBytes(big), bufferSource(big));
    } finally {
      chunked.close();
    }
    assert.equal(await registry.blobSize("lib/blobs", sha256(big)), big.length);
    assert.deepEqual(await readAll(await registry.getBlob("lib/blobs", describeBytes(big))), big);
    assert.deepEqual(await readAll(await registry.getBlob("lib/blobs", describeBytes(small))), small);
  });

  test("manifests by tag and digest, tags paginated over Link headers", async () => {
    const registry = client.registry(server.host);
    const data = await pushArtifact(registry, "lib/paged", "t0", [Buffer.from("hello")]);
    for (const tag of ["t1", "t2", "t3", "t4"]) await registry.putManifest("lib/paged", tag, data);
    const resolved = await registry.resolve("lib/paged", "t3");
    assert.equal(resolved.digest, data.digest);
    const byDigest = await registry.getManifest("lib/paged", data.digest);
    assert.deepEqual(byDigest.bytes, data.bytes);
    const first = await registry.tagsPage("lib/paged", { n: 2 });
    assert.deepEqual(first.items, ["t0", "t1"]);
    assert.ok(first.next, "a Link to the next page");
    const all: string[] = [];
    for await (const tag of registry.tags("lib/paged", 2)) all.push(tag);
    assert.deepEqual(all, ["t0", "t1", "t2", "t3", "t4"]);
    await assert.rejects(registry.getManifest("lib/paged", "missing"), NotFoundError);
  });

  test("cross-repository mount and referrers through the API", async () => {
    const registry = client.registry(server.host);
    const blob = randomBytes(5000);
    await registry.pushBlob("lib/src", describeBytes(blob), bufferSource(blob));
    assert.equal(await registry.mountBlob("lib/dst", sha256(blob), "lib/src"), true);
    assert.equal(await registry.blobSize("lib/dst", sha256(blob)), blob.length);

    const subject = await pushArtifact(registry, "lib/refs", "v1", [Buffer.from("subject")]);
    const sig = await pushArtifact(registry, "lib/refs", "sig", [Buffer.from("signature")], {
      artifactType: "application/vnd.test.signature",
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.bytes.length },
    });
    const found = await registry.referrers("lib/refs", subject.digest);
    assert.equal(found.api, true);
    assert.deepEqual(
      found.descriptors.map((d) => d.digest),
      [sig.digest],
    );
    const filtered = await registry.referrers("lib/refs", subject.digest, "application/vnd.other");
    assert.equal(filtered.descriptors.length, 0);
  });
});

describe("Distribution (no referrers API, htpasswd auth)", () => {
  let distribution: Distribution;
  let home: string;
  before(async () => {
    distribution = await startDistribution({ users: { alice: "wonderland" } });
    home = await mkdtemp(join(tmpdir(), "wharf-lib-home-"));
  });
  after(async () => {
    await distribution.stop();
    await rm(home, { recursive: true, force: true });
  });

  test("Basic credentials from the Docker config's auths", async () => {
    const dockerConfig = join(home, "inline");
    await mkdir(dockerConfig);
    const auth = Buffer.from("alice:wonderland").toString("base64");
    await writeFile(
      join(dockerConfig, "config.json"),
      JSON.stringify({ auths: { [distribution.host]: { auth } } }),
    );
    const client = new Client({ retry: fastRetry, env: { HOME: home, DOCKER_CONFIG: dockerConfig } });
    try {
      const registry = client.registry(distribution.host);
      const subject = await pushArtifact(registry, "lib/fallback", "v1", [Buffer.from("subject")]);
      // A referrer: Distribution 2.8 does not index subjects, so the client maintains the sha256-<hex> tag.
      const sig = manifestData({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        artifactType: "application/vnd.test.signature",
        config: { mediaType: MediaType.OciEmpty, digest: sha256("{}"), size: 2 },
        layers: [],
        subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.bytes.length },
      });
      const pushed = await registry.putManifest("lib/fallback", sig.digest, sig);
      assert.equal(pushed.subjectIndexed, false);
      await registry.addReferrerByTag("lib/fallback", subject.digest, {
        mediaType: sig.mediaType,
        digest: sig.digest,
        size: sig.bytes.length,
        artifactType: "application/vnd.test.signature",
      });
      const found = await registry.referrers("lib/fallback", subject.digest);
      assert.equal(found.api, false);
      // Chunked uploads as Distribution wants them (Content-Range start-end, Location per chunk).
      const big = randomBytes(200_000);
      const chunked = new Client({
        retry: fastRetry,
        chunkSize: 50_000,
        env: { HOME: home, DOCKER_CONFIG: dockerConfig },
      });
      await chunked
        .registry(distribution.host)
        .pushBlob("lib/fallback", describeBytes(big), bufferSource(big));
      chunked.close();
      assert.deepEqual(await readAll(await registry.getBlob("lib/fallback", describeBytes(big))), big);
      assert.deepEqual(
        found.descriptors.map((d) => d.digest),
        [sig.digest],
      );
    } finally {
      client.close();
    }
  });

  test("credentials from a docker-credential helper; wrong ones are refused", async () => {
    const bin = join(home, "bin");
    await mkdir(bin, { recursive: true });
    const helper = join(bin, "docker-credential-wharftest");
    await writeFile(
      helper,
      `#!/bin/sh\nread server\nif [ "$1" = get ] && [ "$server" = "${distribution.host}" ]; then echo '{"ServerURL":"'$server'","Username":"alice","Secret":"'"$SECRET"'"}'; exit 0; fi\necho "credentials not found in native keychain"; exit 1\n`,
    );
    await chmod(helper, 0o755);
    const dockerConfig = join(home, "helper");
    await mkdir(dockerConfig, { recursive: true });
    await writeFile(join(dockerConfig, "config.json"), JSON.stringify({ credsStore: "wharftest" }));
    const env = { HOME: home, DOCKER_CONFIG: dockerConfig, PATH: `${bin}:${process.env.PATH ?? ""}` };
    const good = new Client({ retry: fastRetry, env: { ...env, SECRET: "wonderland" } });
    await good.registry(distribution.host).transport.ping();
    good.close();
    const bad = new Client({ retry: fastRetry, env: { ...env, SECRET: "wrong" } });
    await assert.rejects(bad.registry(distribution.host).transport.ping(), (err) => {
      assert.ok(err instanceof AuthError);
      assert.match(err.message, /rejected the credentials/);
      return true;
    });
    bad.close();
  });
});

describe("Bearer tokens and misbehaving registries (proxy in front of wharf serve)", () => {
  let server: TestServer;
  before(async () => {
    server = await startWharf();
  });
  after(async () => {
    await server.stop();
  });

  test("token handshake with widened scopes for a mount; bad passwords fail", async () => {
    const proxy = await startProxy({
      target: server.url,
      bearer: { users: { bob: "builder" }, anonymousPull: true },
    });
    const creds = async () => ({ username: "bob", password: "builder" });
    const client = new Client({ retry: fastRetry, credentials: creds });
    try {
      const registry = client.registry(proxy.host);
      const blob = randomBytes(2000);
      await registry.pushBlob("tok/src", describeBytes(blob), bufferSource(blob));
      assert.equal(await registry.mountBlob("tok/dst", sha256(blob), "tok/src"), true);
      assert.ok(
        proxy.tokenScopes.some(
          (s) => s.includes("repository:tok/dst:pull,push") && s.includes("repository:tok/src:pull"),
        ),
        `a token was asked for both repositories: ${JSON.stringify(proxy.tokenScopes)}`,
      );
      // Anonymous pull works, anonymous push does not.
      const anonymous = new Client({ retry: fastRetry, credentials: async () => undefined });
      assert.equal(await anonymous.registry(proxy.host).blobSize("tok/dst", sha256(blob)), blob.length);
      await assert.rejects(
        anonymous
          .registry(proxy.host)
          .pushBlob("tok/other", describeBytes(Buffer.from("x")), bufferSource(Buffer.from("x"))),
        AuthError,
      );
      anonymous.close();
      const wrong = new Client({
        retry: fastRetry,
        credentials: async () => ({ username: "bob", password: "nope" }),
      });
      await assert.rejects(
        wrong.registry(proxy.host).blobSize("tok/dst", sha256(blob)),
        /rejected the credentials/,
      );
      wrong.close();
    } finally {
      client.close();
      await proxy.close();
    }
  });

  test("retries 429, 503 and dropped connections, then succeeds", async () => {
    let failures = 0;
    const proxy = await startProxy({
      target: server.url,
      handle: (req, res) => {
        if (!req.url?.includes("/manifests/") || failures >= 3) return false;
        failures++;
        if (failures === 1) res.writeHead(429, { "retry-after": "0" }).end();
        else if (failures === 2) res.writeHead(503).end();
        else req.socket.destroy();
        return true;
      },
    });
    const client = new Client({ retry: fastRetry });
    try {
      const direct = new Client({ retry: fastRetry });
      const data = await pushArtifact(direct.registry(server.host), "retry/app", "v1", [Buffer.from("a")]);
      direct.close();
      const got = await client.registry(proxy.host).getManifest("retry/app", "v1");
      assert.equal(got.digest, data.digest);
      assert.equal(failures, 3);
    } finally {
      client.close();
      await proxy.close();
    }
  });

  test("wrong bytes, wrong digests and truncated downloads are integrity errors", async () => {
    const direct = new Client({ retry: fastRetry });
    const blob = randomBytes(100_000);
    const data = await pushArtifact(direct.registry(server.host), "bad/app", "v1", [blob]);
    direct.close();
    let mode: "corrupt" | "truncate" | "manifest" | "none" = "none";
    const proxy = await startProxy({
      target: server.url,
      handle: async (req, res, forward) => {
        const url = req.url ?? "";
        if (url.includes("/blobs/") && mode !== "none") {
          const real = await forward();
          if (mode === "corrupt") real.body.writeUInt8(real.body.readUInt8(10) ^ 0xff, 10);
          if (mode === "truncate") {
            res.writeHead(200, { "content-length": String(real.body.length) });
            res.write(real.body.subarray(0, 5000));
            setTimeout(() => res.destroy(), 20);
            return true;
          }
          res.writeHead(real.status, { "content-length": String(real.body.length) }).end(real.body);
          return true;
        }
        if (url.endsWith("/manifests/v1") && mode === "manifest") {
          const real = await forward();
          res
            .writeHead(200, {
              "content-type": MediaType.OciManifest,
              "docker-content-digest": sha256("other"),
            })
            .end(real.body);
          return true;
        }
        return false;
      },
    });
    const client = new Client({ retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1 } });
    const registry = client.registry(proxy.host);
    const layer = describeBytes(blob);
    try {
      mode = "corrupt";
      await assert.rejects(readAll(await registry.getBlob("bad/app", layer)), (err) => {
        assert.ok(err instanceof IntegrityError);
        assert.match(err.message, /does not match its digest/);
        return true;
      });
      mode = "truncate";
      await assert.rejects(readAll(await registry.getBlob("bad/app", layer)), /truncated/);
      mode = "manifest";
      await assert.rejects(registry.getManifest("bad/app", "v1"), /does not match its digest/);
      mode = "none";
      assert.equal((await registry.getManifest("bad/app", "v1")).digest, data.digest);
    } finally {
      client.close();
      await proxy.close();
    }
  });
});
