import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWharf, type TestServer } from "../helpers/server.js";
import { startDistribution, type Distribution } from "./distribution.js";
import { cliHome, type CliHome } from "./cli.js";
import { ok } from "./registries.js";
import { readAll, sha256 } from "./fixtures.js";
import { Client, RegistryTarget, type Target } from "../../src/client/index.js";
import { LayoutTarget } from "../../src/client/layout.js";
import { bufferSource } from "../../src/client/sources.js";
import type { DiscoveredNode } from "../../src/client/discover.js";
import type { Descriptor } from "../../src/client/manifest.js";
import {
  EMPTY_CONFIG,
  EMPTY_CONFIG_BLOB,
  SIGSTORE_BUNDLE_MEDIA_TYPE,
  SIMPLE_SIGNING_MEDIA_TYPE,
  bundleReferrerManifest,
  createSigstoreBundle,
  generateSigningKey,
  identifySignature,
  legacySignatureLayer,
  legacySignatureManifest,
  signPayload,
  simpleSigningPayload,
  verifySignatureArtifact,
  type SigningKey,
} from "../../src/oci/signatures/index.js";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
const SPDX = "application/spdx+json";

/** A discover tree without its references (repository names differ), children in digest order. */
interface Shape {
  digest: string;
  mediaType: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  legacy?: string;
  tag?: string;
  manifests: Shape[];
}
function shape(node: DiscoveredNode): Shape {
  const { reference: _reference, manifests, ...rest } = node;
  return {
    ...rest,
    manifests: manifests.map(shape).sort((a, b) => (a.digest < b.digest ? -1 : 1)),
  };
}

function* walk(node: DiscoveredNode, parent?: DiscoveredNode): Generator<[DiscoveredNode, DiscoveredNode]> {
  if (parent) yield [node, parent];
  for (const child of node.manifests) yield* walk(child, node);
}

async function pushBlob(target: Target, bytes: Buffer, mediaType: string): Promise<Descriptor> {
  const descriptor = { mediaType, digest: sha256(bytes), size: bytes.length };
  if (!(await target.hasBlob(descriptor))) await target.pushBlob(descriptor, bufferSource(bytes));
  return descriptor;
}

/** What `cosign sign --key` (v3) pushes: a Sigstore bundle referrer of `subject` (no subject name). */
async function signWithBundle(target: Target, subject: Descriptor, key: SigningKey) {
  const bundle = await pushBlob(
    target,
    await createSigstoreBundle(subject.digest, key),
    SIGSTORE_BUNDLE_MEDIA_TYPE,
  );
  await pushBlob(target, EMPTY_CONFIG_BLOB, EMPTY_CONFIG.mediaType);
  const bytes = bundleReferrerManifest(subject, bundle, new Date("2026-11-30T12:00:00Z"));
  await target.pushManifest({ bytes, mediaType: OCI_MANIFEST, digest: sha256(bytes) });
  return sha256(bytes);
}

/** What cosign ≤ v2 pushes: the simple-signing payload as a layer of the `sha256-<hex>.sig` tag. */
async function signLegacy(target: Target, digest: string, key: SigningKey, name: string) {
  const payload = simpleSigningPayload(name, digest);
  await pushBlob(target, payload, SIMPLE_SIGNING_MEDIA_TYPE);
  const { manifest, config } = legacySignatureManifest([
    legacySignatureLayer(payload, signPayload(payload, key)),
  ]);
  await pushBlob(target, config, OCI_CONFIG);
  const tag = `${digest.replace(":", "-")}.sig`;
  await target.pushManifest({ bytes: manifest, mediaType: OCI_MANIFEST, digest: sha256(manifest) }, tag);
  return sha256(manifest);
}

describe("cp --referrers carries issue 14's signatures and SBOMs: Wharf → Distribution → Wharf → OCI layout", () => {
  let wharf: TestServer;
  let dist: Distribution;
  let cli: CliHome;
  let client: Client;
  let key: SigningKey;
  let app: string;
  let sbom: string;
  let bundleSig: string;
  let sbomSig: string;
  let legacySig: string;
  let layout: string;

  before(async () => {
    [wharf, dist] = await Promise.all([startWharf(), startDistribution()]);
    cli = await cliHome();
    client = new Client({ env: { HOME: tmpdir() } });
    key = generateSigningKey();
    const files = join(cli.dir, "files");
    await mkdir(files, { recursive: true });
    await writeFile(join(files, "app.yaml"), "kind: ConfigMap\n");
    await writeFile(join(files, "sbom.spdx.json"), JSON.stringify({ spdxVersion: "SPDX-2.3" }));
    layout = join(cli.dir, "airgap");

    const source = new RegistryTarget(client, { registry: wharf.host, repository: "team/app" });
    app = ok(await cli.run(["push", `${wharf.host}/team/app:v1`, join(files, "app.yaml")])).stdout.trim();
    const appDescriptor = await source.resolve(app);
    bundleSig = await signWithBundle(source, appDescriptor, key);
    legacySig = await signLegacy(source, app, key, `${wharf.host}/team/app`);
    sbom = ok(
      await cli.run([
        "attach",
        `${wharf.host}/team/app:v1`,
        `${join(files, "sbom.spdx.json")}:${SPDX}`,
        "--artifact-type",
        SPDX,
      ]),
    ).stdout.trim();
    sbomSig = await signWithBundle(source, await source.resolve(sbom), key);
  });
  after(async () => {
    client.close();
    await cli.cleanup();
    await Promise.all([wharf.stop(), dist.stop()]);
  });

  const discover = async (ref: string) =>
    JSON.parse(ok(await cli.run(["discover", ref, "--json"])).stdout) as DiscoveredNode;

  test("each hop's discover tree equals the source's, digests equal, and every signature verifies", async () => {
    const source = await discover(`${wharf.host}/team/app:v1`);
    // The source holds what the test put there: the bundle and .sig beside the SBOM, the SBOM signed.
    const found = [...walk(source)].map(([n, p]) => [n.digest, p.digest, n.legacy ?? n.artifactType]);
    assert.deepEqual(
      found.sort(),
      [
        [bundleSig, app, SIGSTORE_BUNDLE_MEDIA_TYPE],
        [legacySig, app, "cosign-signature"],
        [sbom, app, SPDX],
        [sbomSig, sbom, SIGSTORE_BUNDLE_MEDIA_TYPE],
      ].sort(),
    );

    const hops: [string, string, Target][] = [
      [
        `${wharf.host}/team/app:v1`,
        `${dist.host}/mirror/app:v1`,
        new RegistryTarget(client, { registry: dist.host, repository: "mirror/app" }),
      ],
      [
        `${dist.host}/mirror/app:v1`,
        `${wharf.host}/prod/app:v1`,
        new RegistryTarget(client, { registry: wharf.host, repository: "prod/app" }),
      ],
      [`${wharf.host}/prod/app:v1`, `oci:${layout}:v1`, new LayoutTarget(layout)],
    ];
    for (const [from, to, target] of hops) {
      const copied = ok(await cli.run(["cp", "--referrers", from, to]));
      assert.equal(copied.stdout.trim(), app, `${from} → ${to}`);
      const tree = await discover(to);
      assert.deepEqual(shape(tree), shape(source), `${to}'s tree`);

      const trusted = [{ name: "ci", key: key.publicKey }];
      let verified = 0;
      for (const [node, parent] of walk(tree)) {
        const data = await target.fetchManifest(node);
        const artifact = identifySignature(JSON.parse(data.bytes.toString("utf8")), node.tag);
        if (!artifact) continue;
        const verdicts = await verifySignatureArtifact(
          artifact,
          async (layer) => readAll(await target.fetchBlob(layer)),
          parent.digest,
          trusted,
        );
        assert.deepEqual(
          verdicts.map((v) => [v.subject, v.signers, v.problem]),
          [[parent.digest, ["ci"], undefined]],
          `${node.digest} at ${to}`,
        );
        verified++;
      }
      assert.equal(verified, 3, `the bundle, the .sig and the SBOM's bundle verify at ${to}`);
    }
  });
});
