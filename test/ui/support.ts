/**
 * Content for the browser tests, pushed by real clients: a Helm chart (helm), an image (skopeo, from an
 * OCI layout) and a Kubernetes bundle (Flux's format) pushed and signed by `wharf push` + `wharf sign` with a key the
 * registry trusts. The server must have accounts (test/auth/support.ts startAuthServer): the trusted key
 * is added through the admin API.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ADMIN, adminCall, type Credentials } from "../auth/support.js";
import { cliHome, type CliResult } from "../client/cli.js";
import { writeKeyPair } from "../client/signing-support.js";
import { writeImageLayout } from "../helpers/oci-layout.js";
import { helm, packageChart, skopeo } from "../interop/support.js";

/** Where the browser tests' content lives: `public/…` for anonymous pulls, `team/…` for accounts. */
export const SEED = {
  chart: { repository: "public/charts/hello", tag: "0.1.0", name: "hello" },
  image: { repository: "public/images/web", tag: "v1" },
  bundle: { repository: "team/deploy", tag: "v1" },
  /** An annotation only the bundle carries (for the search page's annotation filter). */
  annotation: { key: "com.example.environment", value: "production" },
  /** The name of the trusted key that signed the bundle. */
  key: "release-key",
} as const;

export interface SeededArtifact {
  repository: string;
  tag: string;
  digest: string;
}

export interface Seeded {
  chart: SeededArtifact;
  image: SeededArtifact;
  bundle: SeededArtifact;
  /** The trusted key's name (the bundle's signature names it). */
  key: string;
}

function ok(what: string, result: CliResult): CliResult {
  assert.equal(result.code, 0, `${what}: exit ${result.code}\n${result.stderr}\n${result.stdout}`);
  return result;
}

async function manifestDigest(url: string, repository: string, tag: string, creds: Credentials) {
  const res = await fetch(`${url}/v2/${repository}/manifests/${tag}`, {
    method: "HEAD",
    headers: {
      Accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json",
      Authorization: `Basic ${Buffer.from(`${creds.name}:${creds.password}`).toString("base64")}`,
    },
  });
  assert.equal(res.status, 200, `HEAD ${repository}:${tag}`);
  const digest = res.headers.get("docker-content-digest");
  assert.ok(digest);
  return digest;
}

/**
 * Pushes the chart, the image and the signed bundle (three clients in parallel) as `creds` (an
 * administrator: it also trusts the signing key). `work` is a scratch directory the caller removes.
 */
export async function seedContent(
  server: { url: string; host: string },
  work: string,
  creds: Credentials = ADMIN,
): Promise<Seeded> {
  await mkdir(work, { recursive: true });
  const [chart, image, bundle] = await Promise.all([
    pushChart(server, join(work, "helm"), creds),
    pushImage(server, join(work, "skopeo"), creds),
    pushSignedBundle(server, join(work, "wharf"), creds),
  ]);
  return { chart, image, bundle, key: SEED.key };
}

async function pushChart(server: { url: string; host: string }, dir: string, creds: Credentials) {
  await mkdir(dir, { recursive: true });
  const run = helm(dir);
  await run(["registry", "login", server.host, "-u", creds.name, "--password-stdin"], {
    input: creds.password,
  });
  const { repository, tag, name } = SEED.chart;
  const tgz = await packageChart(run, dir, name, tag);
  const namespace = repository.slice(0, repository.lastIndexOf("/"));
  await run(["push", tgz, `oci://${server.host}/${namespace}`]);
  return { repository, tag, digest: await manifestDigest(server.url, repository, tag, creds) };
}

async function pushImage(server: { url: string; host: string }, dir: string, creds: Credentials) {
  const layout = join(dir, "layout");
  await writeImageLayout(layout, {
    tag: SEED.image.tag,
    files: { "srv/index.html": "<h1>hello from wharf</h1>\n" },
    annotations: {
      "org.opencontainers.image.title": "web",
      "org.opencontainers.image.description": "A tiny web image for the UI tests",
      "org.opencontainers.image.version": "1.0.0",
    },
  });
  const run = await skopeo(join(dir, "containers"));
  const { repository, tag } = SEED.image;
  await run([
    "copy",
    "--dest-tls-verify=false",
    "--dest-creds",
    `${creds.name}:${creds.password}`,
    `oci:${layout}:${tag}`,
    `docker://${server.host}/${repository}:${tag}`,
  ]);
  return { repository, tag, digest: await manifestDigest(server.url, repository, tag, creds) };
}

async function pushSignedBundle(server: { url: string; host: string }, dir: string, creds: Credentials) {
  const cli = await cliHome();
  try {
    await mkdir(join(dir, "bundle"), { recursive: true });
    const keys = await writeKeyPair(dir, "release");
    const trusted = await adminCall(
      server.url,
      "POST",
      "/trust/keys",
      { name: SEED.key, publicKey: await readFile(keys.pub, "utf8") },
      creds,
    );
    assert.equal(trusted.status, 201, `trust key: ${await trusted.text()}`);
    await writeFile(
      join(dir, "bundle", "deployment.yaml"),
      [
        "apiVersion: apps/v1",
        "kind: Deployment",
        "metadata:",
        "  name: web",
        "spec:",
        "  replicas: 1",
        "  selector: { matchLabels: { app: web } }",
        "  template:",
        "    metadata: { labels: { app: web } }",
        `    spec: { containers: [{ name: web, image: "${server.host}/${SEED.image.repository}:${SEED.image.tag}" }] }`,
        "",
      ].join("\n"),
    );
    ok(
      "wharf login",
      await cli.run(["login", server.host, "-u", creds.name, "--password-stdin"], { input: creds.password }),
    );
    const { repository, tag } = SEED.bundle;
    const ref = `${server.host}/${repository}:${tag}`;
    const digest = ok(
      "wharf push",
      await cli.run([
        "push",
        ref,
        join(dir, "bundle"),
        "--format",
        "flux",
        "--source",
        "https://git.example.com/team/deploy.git",
        "--revision",
        "main@sha1:0123456789abcdef0123456789abcdef01234567",
        "--annotation",
        `${SEED.annotation.key}=${SEED.annotation.value}`,
      ]),
    ).stdout.trim();
    ok("wharf sign", await cli.run(["sign", ref, "--key", keys.key]));
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
    return { repository, tag, digest };
  } finally {
    await cli.cleanup();
  }
}

/**
 * `count` tiny repositories `PREFIX-0000…` (one small manifest each, over HTTP, a few at a time): enough
 * rows to page through without minutes of client runs.
 */
export async function pushManyRepositories(
  url: string,
  prefix: string,
  count: number,
  creds: Credentials = ADMIN,
): Promise<string[]> {
  const auth = `Basic ${Buffer.from(`${creds.name}:${creds.password}`).toString("base64")}`;
  const config = Buffer.from("{}");
  const configDigest = `sha256:${createHash("sha256").update(config).digest("hex")}`;
  const names = Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(4, "0")}`);
  const pushOne = async (name: string) => {
    const blob = await fetch(`${url}/v2/${name}/blobs/uploads/?digest=${configDigest}`, {
      method: "POST",
      headers: { Authorization: auth, "Content-Type": "application/octet-stream" },
      body: config,
    });
    assert.equal(blob.status, 201, `${name} blob: ${await blob.text()}`);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      artifactType: "application/vnd.example.ui-test",
      config: { mediaType: "application/vnd.oci.empty.v1+json", digest: configDigest, size: config.length },
      layers: [{ mediaType: "application/vnd.oci.empty.v1+json", digest: configDigest, size: config.length }],
      annotations: { "org.opencontainers.image.description": `row ${name}` },
    });
    const put = await fetch(`${url}/v2/${name}/manifests/v1`, {
      method: "PUT",
      headers: { Authorization: auth, "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
      body: manifest,
    });
    assert.equal(put.status, 201, `${name} manifest: ${await put.text()}`);
  };
  for (let i = 0; i < names.length; i += 16) await Promise.all(names.slice(i, i + 16).map(pushOne));
  return names;
}

export async function removeWork(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
