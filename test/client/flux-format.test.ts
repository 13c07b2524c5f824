import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chmod, mkdir, readFile, readdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { startWharf, type TestServer } from "../helpers/server.js";
import { cliHome, type CliHome } from "./cli.js";
import { ok } from "./registries.js";

// Flux's documented format (fluxcd/pkg oci: constants.go, push.go, build.go; tar/tar.go) and
// `flux push artifact` (fluxcd/flux2 cmd/flux/push_artifact.go).
const FLUX_CONFIG = "application/vnd.cncf.flux.config.v1+json";
const FLUX_CONTENT = "application/vnd.cncf.flux.content.v1.tar+gzip";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

const sha256 = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

interface TarHeader {
  name: string;
  mode: string;
  uid: string;
  gid: string;
  size: number;
  mtime: string;
  chksum: string;
  typeflag: string;
  linkname: string;
  magic: string;
  version: string;
  uname: string;
  gname: string;
  devmajor: string;
  devminor: string;
  prefix: string;
  content: Buffer;
}

/** The raw USTAR fields of every entry, as bytes are (no tar library in between). */
function readTar(tar: Buffer): { headers: TarHeader[]; trailer: Buffer } {
  const headers: TarHeader[] = [];
  let at = 0;
  const raw = (b: Buffer, o: number, n: number) => b.subarray(o, o + n).toString("latin1");
  const str = (b: Buffer, o: number, n: number) => raw(b, o, n).replace(/\0.*$/s, "");
  while (at + 512 <= tar.length && tar.subarray(at, at + 512).some((x) => x !== 0)) {
    const b = tar.subarray(at, at + 512);
    const size = parseInt(str(b, 124, 12), 8);
    headers.push({
      name: str(b, 0, 100),
      mode: raw(b, 100, 8),
      uid: raw(b, 108, 8),
      gid: raw(b, 116, 8),
      size,
      mtime: raw(b, 136, 12),
      chksum: raw(b, 148, 8),
      typeflag: raw(b, 156, 1),
      linkname: raw(b, 157, 100),
      magic: raw(b, 257, 6),
      version: raw(b, 263, 2),
      uname: raw(b, 265, 32),
      gname: raw(b, 297, 32),
      devmajor: raw(b, 329, 8),
      devminor: raw(b, 337, 8),
      prefix: raw(b, 345, 155),
      content: tar.subarray(at + 512, at + 512 + size),
    });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return { headers, trailer: tar.subarray(at) };
}

/** Go's checksum: the header's bytes summed with the checksum field as spaces, "%06o\0 ". */
function goChecksum(tar: Buffer, headerAt: number): string {
  const b = Buffer.from(tar.subarray(headerAt, headerAt + 512));
  b.fill(0x20, 148, 156);
  const sum = b.reduce((s, x) => s + x, 0);
  return `${sum.toString(8).padStart(6, "0")}\0 `;
}

describe("push --format flux", () => {
  let server: TestServer;
  let cli: CliHome;
  let dir: string;

  before(async () => {
    server = await startWharf();
    cli = await cliHome();
    dir = join(cli.dir, "deploy");
    await mkdir(join(dir, "apps", "web"), { recursive: true });
    await mkdir(join(dir, ".git"), { recursive: true });
    await writeFile(join(dir, "kustomization.yaml"), "resources: [apps/web]\n");
    await writeFile(join(dir, "apps", "web", "deployment.yaml"), "---\nkind: Deployment\n".repeat(40));
    await writeFile(join(dir, "apps", "web", "hook.sh"), "#!/bin/sh\n");
    await writeFile(join(dir, ".git", "config"), "[core]\n"); // Flux's default ignores
    await writeFile(join(dir, ".gitignore"), "*.tmp\n");
    await writeFile(join(dir, "logo.png"), "png");
    await writeFile(join(dir, "old.tar.gz"), "gz");
    await symlink("kustomization.yaml", join(dir, "link.yaml")); // Flux skips symlinks
    await chmod(dir, 0o755);
    await chmod(join(dir, "apps"), 0o750);
    await chmod(join(dir, "apps", "web"), 0o755);
    await chmod(join(dir, "kustomization.yaml"), 0o644);
    await chmod(join(dir, "apps", "web", "deployment.yaml"), 0o640);
    await chmod(join(dir, "apps", "web", "hook.sh"), 0o755);
  });
  after(async () => {
    await cli.cleanup();
    await server.stop();
  });

  async function get(path: string, accept?: string): Promise<Buffer> {
    const res = await fetch(`${server.url}${path}`, accept ? { headers: { accept } } : {});
    assert.equal(res.status, 200, `GET ${path}: ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  }

  test("manifest, config, layer and tarball headers are Flux's, field by field", async () => {
    const source = "https://git.example.com/team/deploy.git?ref=main&x=<y>";
    const revision = "main@sha1:2f8e0c6b5b1a4a0b3c1d8e9f7a6b5c4d3e2f1a0b";
    const digest = ok(
      await cli.run([
        "push",
        `${server.host}/team/deploy:v1`,
        dir,
        "--format",
        "flux",
        "--source",
        source,
        "--revision",
        revision,
      ]),
    ).stdout.trim();
    const bytes = await get(`/v2/team/deploy/manifests/${digest}`, OCI_MANIFEST);
    assert.equal(sha256(bytes), digest);
    const manifest = JSON.parse(bytes.toString("utf8")) as {
      schemaVersion: number;
      mediaType: string;
      artifactType?: string;
      config: { mediaType: string; size: number; digest: string };
      layers: { mediaType: string; size: number; digest: string; annotations?: unknown }[];
      annotations: Record<string, string>;
    };
    assert.equal(manifest.schemaVersion, 2);
    assert.equal(manifest.mediaType, OCI_MANIFEST);
    assert.equal(manifest.artifactType, undefined, "Flux sets no artifactType");
    assert.equal(manifest.config.mediaType, FLUX_CONFIG);
    assert.equal(manifest.layers.length, 1);
    const layer = manifest.layers[0]!;
    assert.equal(layer.mediaType, FLUX_CONTENT);
    assert.equal(layer.annotations, undefined, "Flux's layer has no annotations (no title)");
    assert.deepEqual(manifest.annotations, {
      "org.opencontainers.image.created": "1970-01-01T00:00:00Z", // flux push artifact --reproducible
      "org.opencontainers.image.revision": revision,
      "org.opencontainers.image.source": source,
    });
    // Serialised as go-containerregistry does: Go's field order, descriptors {mediaType, size, digest},
    // sorted annotation keys, <, > and & escaped.
    const goSource = source.replace(/&/g, "\\u0026").replace(/</g, "\\u003c").replace(/>/g, "\\u003e");
    assert.equal(
      bytes.toString("utf8"),
      `{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}",` +
        `"config":{"mediaType":"${FLUX_CONFIG}","size":${manifest.config.size},"digest":"${manifest.config.digest}"},` +
        `"layers":[{"mediaType":"${FLUX_CONTENT}","size":${layer.size},"digest":"${layer.digest}"}],` +
        `"annotations":{"org.opencontainers.image.created":"1970-01-01T00:00:00Z",` +
        `"org.opencontainers.image.revision":"${revision}","org.opencontainers.image.source":"${goSource}"}}`,
    );

    const gz = await get(`/v2/team/deploy/blobs/${layer.digest}`);
    assert.equal(sha256(gz), layer.digest);
    assert.equal(gz.length, layer.size);
    // Go's gzip.Writer header: no flags, no name, mtime 0, XFL 0, OS 255 (unknown).
    assert.deepEqual([...gz.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    const tar = gunzipSync(gz);

    const config = await get(`/v2/team/deploy/blobs/${manifest.config.digest}`);
    assert.equal(
      config.toString("utf8"),
      `{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],` +
        `"os":"","rootfs":{"type":"layers","diff_ids":["${sha256(tar)}"]},"config":{}}`,
    );
    assert.equal(manifest.config.size, config.length);

    const { headers, trailer } = readTar(tar);
    // filepath.Walk order from the root ".", regular files and directories only, Flux's ignores applied.
    assert.deepEqual(
      headers.map((h) => [h.name, h.typeflag, h.mode]),
      [
        [".", "5", "0000755\0"],
        ["apps", "5", "0000750\0"],
        ["apps/web", "5", "0000755\0"],
        ["apps/web/deployment.yaml", "0", "0000640\0"],
        ["apps/web/hook.sh", "0", "0000755\0"],
        ["kustomization.yaml", "0", "0000644\0"],
      ],
    );
    let at = 0;
    for (const h of headers) {
      assert.equal(h.uid, "0000000\0", h.name);
      assert.equal(h.gid, "0000000\0", h.name);
      assert.equal(h.mtime, "00000000000\0", h.name);
      assert.equal(h.magic, "ustar\0", h.name);
      assert.equal(h.version, "00", h.name);
      assert.equal(h.uname, "\0".repeat(32), h.name);
      assert.equal(h.gname, "\0".repeat(32), h.name);
      assert.equal(h.linkname, "\0".repeat(100), h.name);
      assert.equal(h.devmajor, "0000000\0", h.name);
      assert.equal(h.devminor, "0000000\0", h.name);
      assert.equal(h.prefix, "\0".repeat(155), h.name);
      assert.equal(h.chksum, goChecksum(tar, at), h.name);
      at += 512 + Math.ceil(h.size / 512) * 512;
    }
    assert.equal(headers[3]!.content.toString(), "---\nkind: Deployment\n".repeat(40));
    assert.equal(headers[3]!.size, 21 * 40);
    // tar.Writer.Close: two zero blocks, no padding to a 10 KiB record.
    assert.deepEqual(trailer, Buffer.alloc(1024));
  });

  test("reproducible: the same directory pushed again has the same digest", async () => {
    const first = ok(
      await cli.run(["push", `${server.host}/team/repro:a`, dir, "--format", "flux"]),
    ).stdout.trim();
    const second = ok(
      await cli.run(["push", `${server.host}/team/repro:b`, dir, "--format", "flux"]),
    ).stdout.trim();
    assert.match(first, /^sha256:[0-9a-f]{64}$/);
    assert.equal(second, first);
    const other = ok(
      await cli.run(["push", `${server.host}/team/repro:c`, dir, "--format", "flux", "--revision", "v2"]),
    ).stdout.trim();
    assert.notEqual(other, first, "the revision annotation is part of the manifest");
  });

  test("-a annotations join Flux's, and one may set the created time", async () => {
    const digest = ok(
      await cli.run([
        "push",
        `${server.host}/team/annotated:v1`,
        dir,
        "--format",
        "flux",
        "-a",
        "org.opencontainers.image.created=2026-01-02T03:04:05Z",
        "-a",
        "team=web",
      ]),
    ).stdout.trim();
    const manifest = JSON.parse(
      (await get(`/v2/team/annotated/manifests/${digest}`, OCI_MANIFEST)).toString("utf8"),
    ) as { annotations: Record<string, string> };
    assert.deepEqual(manifest.annotations, {
      "org.opencontainers.image.created": "2026-01-02T03:04:05Z",
      team: "web",
    });
  });

  test("pull unpacks a Flux artifact into the output directory", async () => {
    ok(await cli.run(["push", `${server.host}/team/roundtrip:v1`, dir, "--format", "flux"]));
    const info = JSON.parse(
      ok(await cli.run(["info", `${server.host}/team/roundtrip:v1`, "--json"])).stdout,
    ) as { kind?: { id: string } };
    assert.equal(info.kind?.id, "flux-artifact", "Wharf's kinds recognise it as a Flux artifact");
    const out = join(cli.dir, "pulled");
    ok(await cli.run(["pull", `${server.host}/team/roundtrip:v1`, "-o", out]));
    assert.deepEqual((await readdir(out)).sort(), ["apps", "kustomization.yaml"]);
    assert.equal(
      await readFile(join(out, "apps", "web", "deployment.yaml"), "utf8"),
      "---\nkind: Deployment\n".repeat(40),
    );
    assert.equal(await readFile(join(out, "kustomization.yaml"), "utf8"), "resources: [apps/web]\n");
    assert.equal(await readFile(join(out, "apps", "web", "hook.sh"), "utf8"), "#!/bin/sh\n");
  });

  test("a single file is packed as Flux stages it: under a root of mode 0700", async () => {
    const digest = ok(
      await cli.run([
        "push",
        `${server.host}/team/single:v1`,
        join(dir, "kustomization.yaml"),
        "--format",
        "flux",
      ]),
    ).stdout.trim();
    const manifest = JSON.parse(
      (await get(`/v2/team/single/manifests/${digest}`, OCI_MANIFEST)).toString("utf8"),
    ) as { layers: { digest: string }[] };
    const tar = gunzipSync(await get(`/v2/team/single/blobs/${manifest.layers[0]!.digest}`));
    assert.deepEqual(
      readTar(tar).headers.map((h) => [h.name, h.typeflag, h.mode]),
      [
        [".", "5", "0000700\0"],
        ["kustomization.yaml", "0", "0000644\0"],
      ],
    );
  });

  test("bad --format values and combinations are refused with a clear message, nothing pushed", async () => {
    const unknown = await cli.run(["push", `${server.host}/team/bad:v1`, dir, "--format", "kustomize"]);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /unknown --format "kustomize": the one format push knows is flux/);
    const two = await cli.run(["push", `${server.host}/team/bad:v1`, dir, dir, "--format", "flux"]);
    assert.notEqual(two.code, 0);
    assert.match(two.stderr, /--format flux pushes one directory/);
    const typed = await cli.run([
      "push",
      `${server.host}/team/bad:v1`,
      dir,
      "--format",
      "flux",
      "--artifact-type",
      "application/x",
    ]);
    assert.notEqual(typed.code, 0);
    assert.match(typed.stderr, /no --config, --artifact-type or --subject/);
    const res = await fetch(`${server.url}/v2/team/bad/manifests/v1`, { headers: { accept: OCI_MANIFEST } });
    assert.equal(res.status, 404);
  });

  test("--source and --revision without --format flux set the same OCI annotations", async () => {
    const file = join(cli.dir, "notes.txt");
    await writeFile(file, "notes\n");
    const digest = ok(
      await cli.run([
        "push",
        `${server.host}/team/plain:v1`,
        file,
        "--source",
        "https://git.example.com/x.git",
        "--revision",
        "main@sha1:abc",
      ]),
    ).stdout.trim();
    const manifest = JSON.parse(
      (await get(`/v2/team/plain/manifests/${digest}`, OCI_MANIFEST)).toString("utf8"),
    ) as { annotations: Record<string, string>; config: { mediaType: string } };
    assert.deepEqual(manifest.annotations, {
      "org.opencontainers.image.revision": "main@sha1:abc",
      "org.opencontainers.image.source": "https://git.example.com/x.git",
    });
    assert.equal(manifest.config.mediaType, "application/vnd.oci.empty.v1+json");
  });
});
