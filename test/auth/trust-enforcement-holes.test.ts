import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cliHome, type CliHome, type CliResult } from "../client/cli.js";
import { writeKeyPair, type KeyFiles } from "../client/signing-support.js";
import {
  ADMIN,
  basic,
  digest,
  MANIFEST_TYPE,
  pushBlob,
  pushImage,
  putManifest,
  sleep,
  startAuthServer,
  type AuthServer,
  type PushedImage,
} from "./support.js";

/**
 * Holes in the trust enforcement (issue 14 review): what counts as verification material is decided by
 * content against an allow list, by the media type the manifest is served as; ambiguous manifests are
 * refused at push; cosign's accessory tags exempt nothing by themselves; the managed index stays
 * readable; a mount does not carry an unsigned artifact's blobs out of a policed repository.
 */

const AUTH = basic(ADMIN);
const INDEX_TYPE = "application/vnd.oci.image.index.v1+json";
const WHARF_INDEX = "application/vnd.wharf.index.v1+json";
const EMPTY = "application/vnd.oci.empty.v1+json";

function show(result: CliResult): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}--- stderr\n${result.stderr}`;
}

interface ErrorBody {
  errors: { code: string; message: string; detail: unknown }[];
}

describe(
  "trust enforcement: material by content, ambiguous manifests, tags, managed index, mounts",
  { timeout: 300_000 },
  () => {
    let server: AuthServer;
    let host: string;
    let cli: CliHome;
    let keysDir: string;
    let ci: KeyFiles;

    const wharf = async (args: string[]): Promise<CliResult> => {
      const result = await cli.run(args);
      assert.equal(result.code, 0, `wharf ${args.join(" ")}: ${show(result)}`);
      return result;
    };
    const get = (path: string, method = "GET") =>
      fetch(`${server.url}/v2/${path}`, { method, headers: { Authorization: AUTH } });
    const status = async (path: string) => {
      const res = await get(path);
      await res.arrayBuffer();
      return res.status;
    };
    const blob = (repo: string, data: Buffer) => pushBlob(server.url, repo, data, AUTH);
    const subjectOf = (image: PushedImage) => ({
      mediaType: MANIFEST_TYPE,
      digest: image.digest,
      size: image.manifest.length,
    });
    /** Pushes a manifest of the given fields (mediaType: the OCI image manifest) and returns its digest. */
    async function put(repo: string, reference: string | null, fields: Record<string, unknown>) {
      const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST_TYPE, ...fields }));
      const d = digest(body);
      const res = await putManifest(server.url, repo, reference ?? d, body, AUTH);
      assert.equal(res.status, 201, `PUT ${repo}: ${await res.text()}`);
      return d;
    }
    async function assertDenied(path: string) {
      const res = await get(path);
      const text = await res.text();
      assert.equal(res.status, 403, `GET ${path}: ${res.status}`);
      const body = JSON.parse(text) as ErrorBody;
      assert.equal(body.errors[0]?.code, "DENIED");
      assert.match(body.errors[0]?.message ?? "", /trust policy 'team'/);
    }

    before(async () => {
      server = await startAuthServer({ WHARF_INDEX_NAMESPACES: "team", WHARF_INDEX_DELAY: "100ms" });
      host = new URL(server.url).host;
      cli = await cliHome();
      keysDir = await mkdtemp(join(tmpdir(), "wharf-trust-holes-"));
      ci = await writeKeyPair(keysDir, "ci");
      const login = await cli.run(["login", host, "-u", ADMIN.name, "--password-stdin"], {
        input: ADMIN.password,
      });
      assert.equal(login.code, 0, show(login));
      await wharf(["trust", "key", "add", "ci", ci.pub, "--registry", host]);
      await wharf([
        "trust",
        "policy",
        "add",
        "team",
        "--repositories",
        "team/**",
        "--key",
        "ci",
        "--mode",
        "enforce",
        "--registry",
        host,
      ]);
    });

    after(async () => {
      await server?.stop();
      await cli?.cleanup();
      if (keysDir) await rm(keysDir, { recursive: true, force: true });
    });

    test("an image manifest with a manifests field, or an index with config or layers, is refused at push", async () => {
      const target = await pushImage(server.url, "team/ambiguous", "v1", AUTH);
      const config = await blob("team/ambiguous", Buffer.from('{"os":"linux","architecture":"amd64"}'));
      const layer = await blob("team/ambiguous", randomBytes(40));
      const image = {
        config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }],
        subject: subjectOf(target),
      };
      const cases: { what: string; contentType: string; body: Record<string, unknown>; field: string }[] = [
        // No mediaType in the body: the Content-Type says image, `manifests` says index.
        {
          what: "image without mediaType",
          contentType: MANIFEST_TYPE,
          body: { ...image, manifests: [] },
          field: "manifests",
        },
        {
          what: "image with mediaType",
          contentType: MANIFEST_TYPE,
          body: { mediaType: MANIFEST_TYPE, ...image, manifests: [] },
          field: "manifests",
        },
        {
          what: "index with config",
          contentType: INDEX_TYPE,
          body: { manifests: [], config: image.config },
          field: "config",
        },
        {
          what: "index with layers",
          contentType: INDEX_TYPE,
          body: { manifests: [], layers: image.layers },
          field: "layers",
        },
      ];
      for (const { what, contentType, body, field } of cases) {
        const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, ...body }));
        const res = await fetch(`${server.url}/v2/team/ambiguous/manifests/${what.replace(/ /g, "-")}`, {
          method: "PUT",
          headers: { Authorization: AUTH, "Content-Type": contentType },
          body: new Uint8Array(bytes),
        });
        const text = await res.text();
        assert.equal(res.status, 400, `${what}: ${res.status} ${text}`);
        const error = JSON.parse(text) as ErrorBody;
        assert.equal(error.errors[0]?.code, "MANIFEST_INVALID", what);
        assert.match(error.errors[0]?.message ?? "", new RegExp(`"${field}" field.*CVE-2021-41190`), what);
        // Nothing was stored: neither by tag nor by digest.
        assert.equal((await get(`team/ambiguous/manifests/${what.replace(/ /g, "-")}`, "HEAD")).status, 404);
        assert.equal((await get(`team/ambiguous/manifests/${digest(bytes)}`, "HEAD")).status, 404);
      }
      // The layer belongs to no stored manifest: refused as before.
      assert.equal(await status(`team/ambiguous/blobs/${layer.digest}`), 403);
    });

    test("content off the verification-material list is checked like an artifact, subject or not", async () => {
      const target = await pushImage(server.url, "team/kinds", "v1", AUTH);
      const subject = subjectOf(target);
      const helmConfig = await blob("team/kinds", Buffer.from('{"name":"chart","version":"1.0.0"}'));
      const empty = await blob("team/kinds", Buffer.from("{}"));
      const tarball = await blob("team/kinds", randomBytes(64));
      const flux = await blob("team/kinds", randomBytes(64));
      const other = await blob("team/kinds", randomBytes(64));
      const pushed = {
        // Helm's legacy chart layer type.
        helm: await put("team/kinds", "helm", {
          config: { mediaType: "application/vnd.cncf.helm.config.v1+json", ...helmConfig },
          layers: [{ mediaType: "application/tar+gzip", ...tarball }],
          subject,
        }),
        // A Flux tarball whose config is not Flux's.
        flux: await put("team/kinds", "flux", {
          config: { mediaType: EMPTY, ...empty },
          layers: [{ mediaType: "application/vnd.cncf.flux.content.v1.tar+gzip", ...flux }],
          subject,
        }),
        // Any other type naming a subject.
        other: await put("team/kinds", "other", {
          artifactType: "application/vnd.example.thing.v1",
          config: { mediaType: EMPTY, ...empty },
          layers: [{ mediaType: "application/octet-stream", ...other }],
          subject,
        }),
        // A material artifactType over a layer that is not material.
        mixed: await put("team/kinds", "mixed", {
          artifactType: "application/spdx+json",
          config: { mediaType: EMPTY, ...empty },
          layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...other }],
          subject,
        }),
      };
      for (const [tag, d] of Object.entries(pushed)) {
        await assertDenied(`team/kinds/manifests/${tag}`);
        await assertDenied(`team/kinds/manifests/${d}`);
      }
      for (const layer of [tarball, flux, other]) await assertDenied(`team/kinds/blobs/${layer.digest}`);

      // Verification material stays readable, with or without a subject: SBOMs, a cosign attestation.
      const sbom = await blob("team/kinds", Buffer.from('{"spdxVersion":"SPDX-2.3"}'));
      const dsse = await blob("team/kinds", Buffer.from('{"payloadType":"application/vnd.in-toto+json"}'));
      const material = [
        await put("team/kinds", null, {
          artifactType: "application/spdx+json",
          config: { mediaType: EMPTY, ...empty },
          layers: [{ mediaType: "application/spdx+json", ...sbom }],
          subject,
        }),
        await put("team/kinds", "standalone-sbom", {
          config: { mediaType: EMPTY, ...empty },
          layers: [{ mediaType: "text/spdx+json", ...sbom }],
        }),
        await put("team/kinds", null, {
          artifactType: "application/vnd.dev.sigstore.bundle+json",
          config: { mediaType: EMPTY, ...empty },
          layers: [{ mediaType: "application/vnd.dsse.envelope.v1+json", ...dsse }],
          subject,
        }),
      ];
      for (const d of material) assert.equal(await status(`team/kinds/manifests/${d}`), 200, d);
      for (const b of [sbom, dsse]) assert.equal(await status(`team/kinds/blobs/${b.digest}`), 200);

      // Signed, the refused ones are served.
      await wharf(["sign", `${host}/team/kinds:helm`, "--key", ci.key]);
      assert.equal(await status("team/kinds/manifests/helm"), 200);
      assert.equal(await status(`team/kinds/blobs/${tarball.digest}`), 200);
    });

    test("only sha256-<hex>.sig|.att|.sbom tags count, and never for content that is not material", async () => {
      const target = await pushImage(server.url, "team/tags", "v1", AUTH);
      const hex = target.digest.slice("sha256:".length);
      const empty = await blob("team/tags", Buffer.from("{}"));
      const payload = await blob("team/tags", randomBytes(64));
      const fields = {
        artifactType: "application/vnd.example.bundle.v1",
        config: { mediaType: EMPTY, ...empty },
        layers: [{ mediaType: "application/vnd.example.content.v1.tar+gzip", ...payload }],
      };
      const d = await put("team/tags", `sha256-${hex}.prod`, fields);
      await put("team/tags", `sha256-${hex}.sig`, fields);
      await put("team/tags", "release", fields);
      for (const reference of [`sha256-${hex}.prod`, `sha256-${hex}.sig`, "release", d]) {
        await assertDenied(`team/tags/manifests/${reference}`);
      }
      await assertDenied(`team/tags/blobs/${payload.digest}`);

      // cosign's own `.sig` image (image config, simple-signing layer) is served under its tag.
      const signed = await pushImage(server.url, "team/tags", "v2", AUTH);
      await wharf(["sign", `${host}/team/tags:v2`, "--key", ci.key, "--format", "legacy"]);
      const sigTag = `${signed.digest.replace(":", "-")}.sig`;
      assert.equal(await status(`team/tags/manifests/${sigTag}`), 200);
    });

    test("the managed index is served under a policy on its namespace; look-alikes are not", async () => {
      await pushImage(server.url, "team/listed", "v1", AUTH);
      let head: Response | undefined;
      for (let i = 0; i < 200; i++) {
        head = await get("team/index/manifests/latest", "HEAD");
        if (head.status === 200) break;
        await sleep(100);
      }
      assert.equal(head?.status, 200, "the server wrote team/index:latest");
      const res = await get("team/index/manifests/latest");
      const text = await res.text();
      assert.equal(res.status, 200, text);
      const manifest = JSON.parse(text) as { config: { digest: string }; layers: { digest: string }[] };
      for (const b of [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) {
        assert.equal(await status(`team/index/blobs/${b}`), 200, b);
      }

      // The same type pushed by a user elsewhere, or another type in the index's repository, is checked.
      const empty = await blob("team/fake", Buffer.from("{}"));
      const list = await blob("team/fake", Buffer.from('{"entries":[]}'));
      const lookalike = {
        artifactType: WHARF_INDEX,
        config: { mediaType: EMPTY, ...empty },
        layers: [{ mediaType: WHARF_INDEX, ...list }],
      };
      await put("team/fake", "latest", lookalike);
      await assertDenied("team/fake/manifests/latest");
      await assertDenied(`team/fake/blobs/${list.digest}`);
      const layer = await blob("team/index", randomBytes(64));
      const intruder = await put("team/index", null, {
        config: { mediaType: EMPTY, ...(await blob("team/index", Buffer.from("{}"))) },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }],
      });
      await assertDenied(`team/index/manifests/${intruder}`);
      await assertDenied(`team/index/blobs/${layer.digest}`);
    });

    test("a mount from a policed repository does not carry an unsigned artifact's blobs out", async () => {
      const image = await pushImage(server.url, "team/source", "v1", AUTH);
      const mount = (d: string) =>
        fetch(`${server.url}/v2/free/copy/blobs/uploads/?mount=${d}&from=team/source`, {
          method: "POST",
          headers: { Authorization: AUTH },
        });
      for (const b of [image.layer, image.config]) {
        const res = await mount(b.digest);
        await res.arrayBuffer();
        assert.equal(res.status, 202, "an ordinary upload session instead");
        assert.match(res.headers.get("location") ?? "", /^\/v2\/free\/copy\/blobs\/uploads\/[^/]+$/);
        assert.equal(await status(`free/copy/blobs/${b.digest}`), 404, "not mounted");
      }
      await wharf(["sign", `${host}/team/source:v1`, "--key", ci.key]);
      const res = await mount(image.layer.digest);
      await res.arrayBuffer();
      assert.equal(res.status, 201, "a signed artifact's blob is mounted");
      assert.equal(await status(`free/copy/blobs/${image.layer.digest}`), 200);
    });
  },
);
