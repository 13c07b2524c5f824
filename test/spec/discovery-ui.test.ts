/**
 * The discovery API the web UI reads beyond listings: each artifact row's actions for this host, the
 * manifest as stored, an artifact's files (a Helm chart's archive entries, a bundle's, ORAS-style titled
 * layers) read on demand within limits, and each signature accessory's verification status — all of it
 * only for repositories the caller may pull.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createGzip, gzipSync } from "node:zlib";
import { ADMIN, addRule, basic, startAuthServer, type AuthServer } from "../auth/support.js";
import { cliHome, type CliHome, type CliResult } from "../client/cli.js";
import { writeKeyPair } from "../client/signing-support.js";
import { generateSigningKey } from "../../src/oci/signatures/index.js";
import {
  HELM_CHART,
  HELM_CONFIG,
  OCI_CONFIG,
  OCI_EMPTY,
  OCI_LAYER,
  OCI_MANIFEST,
  sha256,
  uniqueRepo,
  type Descriptor,
} from "./manifest-support.js";
import {
  addTrustKey,
  addTrustPem,
  call,
  pushBlob,
  pushImage,
  pushLegacySignature,
  putManifest,
  useAuthorization,
} from "./signature-support.js";

const FLUX_CONTENT = "application/vnd.cncf.flux.content.v1.tar+gzip";
const FLUX_CONFIG = "application/vnd.cncf.flux.config.v1+json";
const TITLE = "org.opencontainers.image.title";
const TEXT_LIMIT = 256 * 1024;

useAuthorization(basic(ADMIN));

interface TarFile {
  name: string;
  data?: Buffer;
  /** Entry type flag: "0" a file, "5" a directory, "2" a symbolic link. */
  type?: string;
}

/** One ustar header (the name in `name`, or split at a slash into prefix and name when longer). */
function tarHeader(name: string, size: number, type = "0"): Buffer {
  const header = Buffer.alloc(512);
  header.write(name.slice(0, 100), 0, "utf8");
  header.write("0000644\0", 100);
  header.write("0000000\0", 108);
  header.write("0000000\0", 116);
  header.write(`${size.toString(8).padStart(11, "0")}\0`, 124);
  header.write("00000000000\0", 136);
  header.write("        ", 148);
  header.write(type, 156);
  if (type === "2") header.write("/etc/passwd", 157);
  header.write("ustar\0", 257);
  header.write("00", 263);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  return header;
}

function padding(size: number): Buffer {
  return Buffer.alloc((512 - (size % 512)) % 512);
}

/** A gzipped tar of `files`, built here (names as given: `..` ones included). */
function tgz(files: TarFile[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of files) {
    const data = f.data ?? Buffer.alloc(0);
    parts.push(tarHeader(f.name, data.length, f.type), data, padding(data.length));
  }
  parts.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(parts));
}

/** A small gzip that decompresses to a tar holding a `zeros`-byte file, then `after.txt`. */
async function gzipBomb(zeros: number): Promise<Buffer> {
  const gzip = createGzip();
  const out: Buffer[] = [];
  gzip.on("data", (c: Buffer) => out.push(c));
  const done = new Promise((resolve) => gzip.on("end", resolve));
  gzip.write(tarHeader("bomb.bin", zeros));
  const block = Buffer.alloc(1024 * 1024);
  for (let left = zeros; left > 0; left -= block.length) {
    if (!gzip.write(block.subarray(0, Math.min(left, block.length)))) {
      await new Promise((resolve) => gzip.once("drain", resolve));
    }
  }
  const tail = Buffer.from("after\n");
  gzip.end(
    Buffer.concat([
      padding(zeros),
      tarHeader("after.txt", tail.length),
      tail,
      padding(tail.length),
      Buffer.alloc(1024),
    ]),
  );
  await done;
  return Buffer.concat(out);
}

/** PUTs a manifest of `config` and `layers` under `reference`; its digest and bytes. */
async function putArtifact(
  url: string,
  repo: string,
  reference: string | null,
  config: Descriptor,
  layers: Descriptor[],
  artifactType?: string,
): Promise<{ digest: string; body: Buffer }> {
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      ...(artifactType ? { artifactType } : {}),
      config,
      layers,
    }),
  );
  // No reference: by digest (untagged).
  const put = await putManifest(url, repo, reference ?? sha256(body), body, OCI_MANIFEST);
  assert.equal(put.status, 201, `manifest PUT ${repo}:${reference}: ${put.status} ${put.text}`);
  return { digest: put.digest, body };
}

/** A Helm chart (as `helm push` stores it) of `files` under the tag `version`. */
async function pushChart(url: string, repo: string, version: string, files: TarFile[]) {
  const config = await pushBlob(
    url,
    repo,
    JSON.stringify({ name: "mychart", version, apiVersion: "v2" }),
    HELM_CONFIG,
  );
  const layer = await pushBlob(url, repo, tgz(files), HELM_CHART);
  return { ...(await putArtifact(url, repo, version, config, [layer])), layer };
}

async function getJson<T>(url: string, path: string, init: RequestInit = {}): Promise<T> {
  const res = await call(`${url}${path}`, init);
  const text = await res.text();
  assert.equal(res.status, 200, `GET ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

async function errorOf(
  url: string,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; code: string }> {
  const res = await call(`${url}${path}`, init);
  const body = (await res.json()) as { errors: { code: string }[] };
  return { status: res.status, code: body.errors[0]?.code ?? "" };
}

interface Files {
  files: { path: string; size: number; layer: string; mediaType: string | null }[];
  truncated: boolean;
}
interface FileContent {
  path: string;
  size: number;
  text: string | null;
  binary: boolean;
  truncated: boolean;
}
interface Row {
  digest: string;
  tags: string[];
  actions: { label: string; command: string }[];
}
interface Verification {
  status: string;
  key: string | null;
  fingerprint: string | null;
  reason: string | null;
}
interface Detail {
  accessories: Record<string, { digest: string; verification: Verification | null }[]>;
}

function ok(r: CliResult): CliResult {
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

/** A CLI home logged in to the server as `creds`. */
async function loggedIn(server: AuthServer, creds: { name: string; password: string }): Promise<CliHome> {
  const home = await cliHome();
  ok(
    await home.run(["login", server.server.host, "-u", creds.name, "--password-stdin"], {
      input: creds.password,
    }),
  );
  return home;
}

describe("the discovery API for the web UI", { timeout: 300_000 }, () => {
  let server: AuthServer;
  let url: string;
  let host: string;

  before(async () => {
    server = await startAuthServer();
    url = server.url;
    host = server.server.host;
    await addRule(url, "anonymous", "uipub/**", ["pull"]);
  });
  after(async () => {
    await server?.stop();
  });

  test("artifact rows and search results carry the kind's actions for this host, by tag or by digest", async () => {
    const repo = uniqueRepo("uipub");
    const image = await pushImage(url, repo, "v1");
    const chart = await pushChart(url, repo, "1.2.3", [
      { name: "mychart/Chart.yaml", data: Buffer.from("name: mychart\n") },
    ]);
    const config = await pushBlob(
      url,
      repo,
      JSON.stringify({ n: randomBytes(4).toString("hex") }),
      OCI_CONFIG,
    );
    const layer = await pushBlob(url, repo, randomBytes(32), OCI_LAYER);
    const untagged = await putArtifact(url, repo, null, config, [layer]);

    const page = await getJson<{ artifacts: Row[] }>(url, `/api/v1/repositories/${repo}/artifacts`);
    const row = (digest: string) => {
      const found = page.artifacts.find((a) => a.digest === digest);
      assert.ok(found, `${digest} not listed: ${JSON.stringify(page)}`);
      return found;
    };
    const commands = (digest: string) => row(digest).actions.map((a) => a.command);
    assert.ok(
      commands(image.digest).includes(`docker run --rm ${host}/${repo}:v1`),
      commands(image.digest).join("\n"),
    );
    assert.ok(
      commands(chart.digest).includes(`helm install my-release oci://${host}/${repo} --version 1.2.3`),
      commands(chart.digest).join("\n"),
    );
    assert.deepEqual(row(untagged.digest).tags, []);
    assert.ok(
      commands(untagged.digest).includes(`docker run --rm ${host}/${repo}@${untagged.digest}`),
      commands(untagged.digest).join("\n"),
    );

    const search = await getJson<{ results: Row[] }>(url, `/api/v1/search?q=${encodeURIComponent(repo)}`);
    const hit = search.results.find((r) => r.digest === chart.digest);
    assert.ok(hit, JSON.stringify(search));
    assert.ok(
      hit.actions.some((a) => a.command === `helm pull oci://${host}/${repo} --version 1.2.3`),
      JSON.stringify(hit.actions),
    );
  });

  test("the manifest as stored, by digest and by tag, with its media type and digest", async () => {
    const repo = uniqueRepo("uipub");
    const image = await pushImage(url, repo, "v1");
    for (const reference of [`@${image.digest}`, ":v1"]) {
      const res = await call(`${url}/api/v1/artifacts/${repo}${reference}/manifest`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), OCI_MANIFEST);
      assert.equal(res.headers.get("docker-content-digest"), image.digest);
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(image.body), "bytes differ from those pushed");
    }
    assert.deepEqual(await errorOf(url, `/api/v1/artifacts/${repo}:nope/manifest`), {
      status: 404,
      code: "MANIFEST_UNKNOWN",
    });
    assert.deepEqual(await errorOf(url, `/api/v1/artifacts/${repo}:v1/other`), {
      status: 400,
      code: "INVALID_REQUEST",
    });
    // An image's layers are filesystem changesets, not files.
    assert.deepEqual(await getJson<Files>(url, `/api/v1/artifacts/${repo}:v1/files`), {
      files: [],
      truncated: false,
    });
  });

  test("a Helm chart's files: listed from its archive, read as text or flagged binary; unsafe names never", async () => {
    const repo = uniqueRepo("uipub");
    const values = Buffer.from("replicaCount: 2\nimage:\n  repository: nginx\n");
    const readme = Buffer.from("# My chart\n\nÜnïcode text.\n");
    const icon = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0]), randomBytes(64)]);
    const chart = await pushChart(url, repo, "0.1.0", [
      { name: "mychart/", type: "5" },
      { name: "mychart/Chart.yaml", data: Buffer.from("apiVersion: v2\nname: mychart\nversion: 0.1.0\n") },
      { name: "mychart/values.yaml", data: values },
      { name: "./mychart/README.md", data: readme },
      { name: "mychart/icon.png", data: icon },
      { name: "../evil.txt", data: Buffer.from("outside") },
      { name: "/etc/cron.d/evil", data: Buffer.from("absolute") },
      { name: "mychart/../../escape.txt", data: Buffer.from("escape") },
      { name: "mychart/link", type: "2" },
    ]);
    const list = await getJson<Files>(url, `/api/v1/artifacts/${repo}:0.1.0/files`);
    assert.equal(list.truncated, false);
    assert.deepEqual(
      list.files.map((f) => f.path),
      ["mychart/Chart.yaml", "mychart/values.yaml", "mychart/README.md", "mychart/icon.png"],
    );
    const valuesEntry = list.files.find((f) => f.path === "mychart/values.yaml");
    assert.deepEqual(valuesEntry, {
      path: "mychart/values.yaml",
      size: values.length,
      layer: chart.layer.digest,
      mediaType: HELM_CHART,
    });

    const file = (path: string) =>
      getJson<FileContent>(url, `/api/v1/artifacts/${repo}@${chart.digest}/files/${path}`);
    assert.deepEqual(await file("mychart/values.yaml"), {
      path: "mychart/values.yaml",
      size: values.length,
      text: values.toString("utf8"),
      binary: false,
      truncated: false,
    });
    assert.equal((await file("mychart/README.md")).text, readme.toString("utf8"));
    const png = await file("mychart/icon.png");
    assert.equal(png.binary, true);
    assert.equal(png.text, null);
    assert.equal(png.size, icon.length);

    // Names that leave the chart are neither listed nor served, however they are asked for.
    assert.deepEqual(await errorOf(url, `/api/v1/artifacts/${repo}:0.1.0/files/evil.txt`), {
      status: 404,
      code: "NOT_FOUND",
    });
    assert.deepEqual(await errorOf(url, `/api/v1/artifacts/${repo}:0.1.0/files/escape.txt`), {
      status: 404,
      code: "NOT_FOUND",
    });
    assert.deepEqual(
      await errorOf(url, `/api/v1/artifacts/${repo}:0.1.0/files/mychart%2F..%2F..%2Fescape.txt`),
      {
        status: 400,
        code: "INVALID_REQUEST",
      },
    );
    assert.deepEqual(await errorOf(url, `/api/v1/artifacts/${repo}:0.1.0/files/mychart/link`), {
      status: 404,
      code: "NOT_FOUND",
    });
  });

  test("limits: a huge values.yaml is cut at 256 KiB, a gzip bomb stops at 64 MiB, a listing at 2,000 entries", async () => {
    const repo = uniqueRepo("uipub");
    // One byte, then two-byte characters: the 256 KiB cut falls inside one, which is dropped.
    const huge = Buffer.from(`x${"é".repeat(200 * 1024)}`);
    await pushChart(url, repo, "9.0.0", [{ name: "mychart/values.yaml", data: huge }]);
    const cut = await getJson<FileContent>(url, `/api/v1/artifacts/${repo}:9.0.0/files/mychart/values.yaml`);
    assert.equal(cut.truncated, true);
    assert.equal(cut.binary, false);
    assert.equal(cut.size, huge.length);
    assert.ok(cut.text !== null && huge.toString("utf8").startsWith(cut.text));
    assert.equal(Buffer.byteLength(cut.text), TEXT_LIMIT - 1);

    // A Flux artifact whose content layer decompresses to 100 MiB: reading stops at the limit.
    const bomb = await pushBlob(url, repo, await gzipBomb(100 * 1024 * 1024), FLUX_CONTENT);
    assert.ok(bomb.size < 1024 * 1024, `the bomb is ${bomb.size} bytes`);
    const fluxConfig = await pushBlob(url, repo, "{}", FLUX_CONFIG);
    await putArtifact(url, repo, "bomb", fluxConfig, [bomb]);
    const listed = await getJson<Files>(url, `/api/v1/artifacts/${repo}:bomb/files`);
    assert.equal(listed.truncated, true);
    assert.deepEqual(
      listed.files.map((f) => [f.path, f.size]),
      [["bomb.bin", 100 * 1024 * 1024]],
    );
    assert.deepEqual(await errorOf(url, `/api/v1/artifacts/${repo}:bomb/files/after.txt`), {
      status: 404,
      code: "NOT_FOUND",
    });

    // Empty gzip members inflate to nothing: the stored bytes read count against the limit too.
    const empty = gzipSync(Buffer.alloc(0));
    const members = Buffer.alloc(Math.ceil((64 * 1024 * 1024 + 1) / empty.length) * empty.length, empty);
    const late = tgz([{ name: "bundle/late.yaml", data: Buffer.from("late: true\n") }]);
    const hollow = await pushBlob(url, repo, Buffer.concat([members, late]), FLUX_CONTENT);
    await putArtifact(url, repo, "hollow", fluxConfig, [hollow]);
    const hollowFiles = await getJson<Files>(url, `/api/v1/artifacts/${repo}:hollow/files`);
    assert.equal(hollowFiles.truncated, true);
    assert.deepEqual(hollowFiles.files, []);

    const many = Array.from({ length: 2001 }, (_, i) => ({
      name: `bundle/f${i}.yaml`,
      data: Buffer.from(`n: ${i}\n`),
    }));
    const manyLayer = await pushBlob(url, repo, tgz(many), FLUX_CONTENT);
    await putArtifact(url, repo, "many", fluxConfig, [manyLayer]);
    const page = await getJson<Files>(url, `/api/v1/artifacts/${repo}:many/files`);
    assert.equal(page.truncated, true);
    assert.equal(page.files.length, 2000);
    assert.equal(page.files[1999]?.path, "bundle/f1999.yaml");
    assert.equal(
      (await getJson<FileContent>(url, `/api/v1/artifacts/${repo}:many/files/bundle/f7.yaml`)).text,
      "n: 7\n",
    );
  });

  test("an ORAS-style artifact: each titled layer is a file, read as text when it is small UTF-8", async () => {
    const repo = uniqueRepo("uipub");
    const readme = Buffer.from("# A model\n");
    const weights = randomBytes(4096);
    const notes = Buffer.from("a".repeat(TEXT_LIMIT + 10));
    const config = await pushBlob(url, repo, "{}", OCI_EMPTY);
    const layers = [
      { ...(await pushBlob(url, repo, readme, "text/markdown")), annotations: { [TITLE]: "README.md" } },
      {
        ...(await pushBlob(url, repo, weights, "application/octet-stream")),
        annotations: { [TITLE]: "model/weights.bin" },
      },
      { ...(await pushBlob(url, repo, notes, "text/plain")), annotations: { [TITLE]: "notes.txt" } },
      { ...(await pushBlob(url, repo, "untitled", "text/plain")) },
      { ...(await pushBlob(url, repo, "up", "text/plain")), annotations: { [TITLE]: "../up.txt" } },
    ];
    const model = await putArtifact(url, repo, "v1", config, layers, "application/vnd.example.model.v1");
    const list = await getJson<Files>(url, `/api/v1/artifacts/${repo}@${model.digest}/files`);
    assert.deepEqual(list, {
      files: [
        { path: "README.md", size: readme.length, layer: layers[0]!.digest, mediaType: "text/markdown" },
        {
          path: "model/weights.bin",
          size: weights.length,
          layer: layers[1]!.digest,
          mediaType: "application/octet-stream",
        },
        { path: "notes.txt", size: notes.length, layer: layers[2]!.digest, mediaType: "text/plain" },
      ],
      truncated: false,
    });
    const file = (path: string) => getJson<FileContent>(url, `/api/v1/artifacts/${repo}:v1/files/${path}`);
    assert.deepEqual(await file("README.md"), {
      path: "README.md",
      size: readme.length,
      text: readme.toString("utf8"),
      binary: false,
      truncated: false,
    });
    const bin = await file("model/weights.bin");
    assert.equal(bin.binary, true);
    assert.equal(bin.text, null);
    const long = await file("notes.txt");
    assert.equal(long.truncated, true);
    assert.equal(long.text, "a".repeat(TEXT_LIMIT));
    assert.deepEqual(await errorOf(url, `/api/v1/artifacts/${repo}:v1/files/other.txt`), {
      status: 404,
      code: "NOT_FOUND",
    });
  });

  test("a repository the caller may not pull answers as not found on every new endpoint", async () => {
    const open = uniqueRepo("uipub");
    const hidden = uniqueRepo("uihid");
    const files = [{ name: "mychart/values.yaml", data: Buffer.from("a: 1\n") }];
    await pushChart(url, open, "1.0.0", files);
    const secret = await pushChart(url, hidden, "1.0.0", files);
    const paths = (repo: string) => [
      `/api/v1/repositories/${repo}/artifacts`,
      `/api/v1/artifacts/${repo}:1.0.0`,
      `/api/v1/artifacts/${repo}:1.0.0/manifest`,
      `/api/v1/artifacts/${repo}:1.0.0/files`,
      `/api/v1/artifacts/${repo}:1.0.0/files/mychart/values.yaml`,
    ];
    for (const path of paths(open)) {
      const res = await fetch(`${url}${path}`);
      assert.equal(res.status, 200, `anonymous GET ${path}: ${res.status} ${await res.text()}`);
    }
    for (const path of [...paths(hidden), `/api/v1/artifacts/${hidden}@${secret.digest}/manifest`]) {
      const res = await fetch(`${url}${path}`);
      const body = (await res.json()) as { errors: { code: string }[] };
      assert.equal(res.status, 404, `anonymous GET ${path}: ${res.status}`);
      assert.equal(body.errors[0]?.code, "NAME_UNKNOWN", path);
    }
    // The administrator sees it.
    assert.equal(
      (await getJson<FileContent>(url, `/api/v1/artifacts/${hidden}:1.0.0/files/mychart/values.yaml`)).text,
      "a: 1\n",
    );
  });

  test("signature accessories carry their verification status after `wharf sign` with trusted and other keys", async () => {
    const home = await loggedIn(server, ADMIN);
    try {
      const repo = uniqueRepo("uipub");
      const trusted = await writeKeyPair(home.dir, "trusted");
      const stranger = await writeKeyPair(home.dir, "stranger");
      const keyName = `ui${randomBytes(3).toString("hex")}`;
      const { fingerprint } = await addTrustPem(url, keyName, await readFile(trusted.pub, "utf8"));
      const image = await pushImage(url, repo, "v1");
      const ref = `${host}/${repo}:v1`;
      const good = ok(await home.run(["sign", ref, "--key", trusted.key])).stdout.trim();
      const other = ok(await home.run(["sign", ref, "--key", stranger.key])).stdout.trim();
      const legacy = ok(
        await home.run(["sign", ref, "--key", trusted.key, "--format", "legacy"]),
      ).stdout.trim();

      const detail = await getJson<Detail>(url, `/api/v1/artifacts/${repo}:v1`);
      const status = (kind: string, digest: string) => {
        const found = detail.accessories[kind]?.find((a) => a.digest === digest);
        assert.ok(found, `${kind} ${digest} not among ${JSON.stringify(detail.accessories)}`);
        return found.verification;
      };
      assert.deepEqual(status("sigstore-bundle", good), {
        status: "verified",
        key: keyName,
        fingerprint,
        reason: null,
      });
      assert.deepEqual(status("sigstore-bundle", other), {
        status: "unverified",
        key: null,
        fingerprint: null,
        reason: "no trusted key verified it",
      });
      assert.deepEqual(status("cosign-signature", legacy), {
        status: "verified",
        key: keyName,
        fingerprint,
        reason: null,
      });

      // A `.sig` stored by digest (no tag names its subject) is listed by what its payload signs; a
      // `.sig` copied under another artifact's tag signs the first, so it fails there.
      const signingKey = { name: `${keyName}b`, key: generateSigningKey() };
      await addTrustKey(url, signingKey.name, signingKey.key);
      const second = await pushImage(url, repo, "v2");
      const byDigest = await pushLegacySignature(url, repo, second.digest, signingKey.key, {
        untagged: true,
      });
      const copied = await pushLegacySignature(url, repo, image.digest, signingKey.key, {
        signs: second.digest,
      });
      const secondDetail = await getJson<Detail>(url, `/api/v1/artifacts/${repo}:v2`);
      const secondSigs = secondDetail.accessories["cosign-signature"] ?? [];
      assert.equal(
        secondSigs.find((a) => a.digest === byDigest.digest)?.verification?.status,
        "verified",
        JSON.stringify(secondSigs),
      );
      const firstDetail = await getJson<Detail>(url, `/api/v1/artifacts/${repo}:v1`);
      const wrong = firstDetail.accessories["cosign-signature"]?.find(
        (a) => a.digest === copied.digest,
      )?.verification;
      assert.equal(wrong?.status, "failed", JSON.stringify(firstDetail.accessories));
      assert.match(wrong?.reason ?? "", new RegExp(second.digest));
    } finally {
      await home.cleanup();
    }
  });
});
