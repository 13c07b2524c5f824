import { createHash } from "node:crypto";

/** The empty JSON config every seeded manifest uses. */
const CONFIG = Buffer.from("{}");
const CONFIG_DIGEST = `sha256:${createHash("sha256").update(CONFIG).digest("hex")}`;
const MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json";

export interface SeedOptions {
  /** Tags sharing one manifest (default 1: every tag its own digest). */
  perManifest?: number;
  /**
   * Put a manifest's tags in one request with Wharf's repeated `?tag=` (else one PUT per tag, which is
   * all Distribution understands).
   */
  multiTag?: boolean;
  /** Requests in flight at once (default 8). */
  concurrency?: number;
  headers?: Record<string, string>;
}

/**
 * Pushes tiny distinct manifests (the empty config, no layers, an annotation that tells them apart) and
 * points `tags` at them; returns each tag's digest. Works on any registry speaking the Distribution API.
 */
export async function seedTags(
  base: string,
  repo: string,
  tags: readonly string[],
  options: SeedOptions = {},
): Promise<Map<string, string>> {
  const headers = options.headers ?? {};
  await pushConfig(base, repo, headers);
  const per = options.perManifest ?? 1;
  const groups: string[][] = [];
  for (let i = 0; i < tags.length; i += per) groups.push(tags.slice(i, i + per));
  const digests = new Map<string, string>();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < groups.length; i = next++) {
      const group = groups[i] as string[];
      const body = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MANIFEST_TYPE,
          config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: CONFIG_DIGEST, size: 2 },
          layers: [],
          annotations: { "test.seed": `${repo} ${i}` },
        }),
      );
      const digest = `sha256:${createHash("sha256").update(body).digest("hex")}`;
      const requests = options.multiTag
        ? [[group[0] as string, group.slice(1)] as const]
        : group.map((tag) => [tag, [] as string[]] as const);
      for (const [tag, extra] of requests) {
        const query = extra.map((t) => `tag=${encodeURIComponent(t)}`).join("&");
        const url = `${base}/v2/${repo}/manifests/${encodeURIComponent(tag)}${query ? `?${query}` : ""}`;
        const res = await fetch(url, {
          method: "PUT",
          headers: { ...headers, "Content-Type": MANIFEST_TYPE },
          body,
        });
        const text = await res.text();
        if (res.status !== 201) throw new Error(`PUT ${repo}:${tag}: ${res.status} ${text}`);
      }
      for (const tag of group) digests.set(tag, digest);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  return digests;
}

async function pushConfig(base: string, repo: string, headers: Record<string, string>): Promise<void> {
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: "POST", headers });
  await start.arrayBuffer();
  if (start.status !== 202) throw new Error(`POST upload to ${repo}: ${start.status}`);
  const location = new URL(start.headers.get("location") ?? "", base);
  location.searchParams.set("digest", CONFIG_DIGEST);
  const put = await fetch(location, {
    method: "PUT",
    headers: { ...headers, "Content-Type": "application/octet-stream" },
    body: CONFIG,
  });
  await put.arrayBuffer();
  if (put.status !== 201) throw new Error(`PUT config to ${repo}: ${put.status}`);
}
