/**
 * GET /api/v1/repositories/NAME/resolve: Wharf picks the tag a policy chooses server-side, in one request,
 * over every tag of the repository (read in batches of 1000), on every backend.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startWharf, type TestServer } from "../helpers/server.js";
import { seedTags } from "../helpers/tags.js";
import { selectTag } from "../../src/oci/tag-policy/index.js";
import { expectError, uniqueRepo } from "./support.js";

interface Resolution {
  repository: string;
  tag: string;
  digest: string;
  mediaType: string;
  candidates: number;
  key: string;
  policy: Record<string, string>;
}

let server: TestServer;

before(async () => {
  server = await startWharf();
});

after(async () => {
  await server?.stop();
});

function resolveUrl(repo: string, query: Record<string, string>): string {
  return `${server.url}/api/v1/repositories/${repo}/resolve?${new URLSearchParams(query).toString()}`;
}

async function resolve(repo: string, query: Record<string, string>): Promise<Resolution> {
  const res = await fetch(resolveUrl(repo, query));
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  return JSON.parse(text) as Resolution;
}

describe("resolve endpoint", { timeout: 300_000 }, () => {
  test("answers the highest version in range with the digest its tag points at", async () => {
    const repo = uniqueRepo("resolve");
    const digests = await seedTags(server.url, repo, [
      "1.0.0",
      "1.2.0",
      "1.2.3",
      "1.3.0-rc.1",
      "2.0.0",
      "latest",
    ]);
    const answer = await resolve(repo, { semver: "^1.2" });
    assert.deepEqual(answer, {
      repository: repo,
      tag: "1.2.3",
      digest: digests.get("1.2.3"),
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      candidates: 2,
      key: answer.key,
      policy: { semver: "^1.2" },
    });
  });

  test("chooses over every batch of tags, not only the first", async () => {
    // 2,500 tags: three batches of 1000; the winner sorts into the second batch and the third batch's
    // tags must still be counted, so a resolver that stopped early or kept one batch is caught.
    const repo = uniqueRepo("resolve-batches");
    const tags = Array.from({ length: 2500 }, (_, i) => `0.${i}.0`);
    tags.push("5.0.0", "4.9.9");
    const digests = await seedTags(server.url, repo, tags, { perManifest: 50, multiTag: true });
    const highest = await resolve(repo, { semver: "*" });
    assert.equal(highest.tag, "5.0.0");
    assert.equal(highest.digest, digests.get("5.0.0"));
    assert.equal(highest.candidates, 2502);
    const inZero = await resolve(repo, { semver: ">=0.1500.0 <1" });
    assert.equal(inZero.tag, "0.2499.0");
    assert.equal(inZero.candidates, 1000);
  });

  test("batched, it answers what the policy library answers over the whole list, ties included", async () => {
    // 1.0.0 and v1.0.0 are the same version, in the first and the last batch (digits sort before `v`).
    const repo = uniqueRepo("resolve-ties");
    const tags = [...Array.from({ length: 2100 }, (_, i) => `0.${i}.1`), "1.0.0", "v1.0.0", "v0.5.0"];
    await seedTags(server.url, repo, tags, { perManifest: 50, multiTag: true });
    const sorted = [...tags].sort();
    for (const policy of [{ semver: "*" }, { semver: "<1" }, { semver: "1.0.0" }]) {
      const expected = selectTag(sorted, policy);
      const answer = await resolve(repo, policy);
      assert.deepEqual(
        { tag: answer.tag, candidates: answer.candidates },
        { tag: expected?.tag, candidates: expected?.candidates },
        JSON.stringify(policy),
      );
    }
  });

  test("nothing matching is 404 MANIFEST_UNKNOWN naming the policy", async () => {
    const repo = uniqueRepo("resolve-none");
    await seedTags(server.url, repo, ["1.0.0", "latest"]);
    const res = await fetch(resolveUrl(repo, { semver: "^3" }));
    const body = (await res.clone().json()) as { errors: { message: string }[] };
    await expectError(res, 404, "MANIFEST_UNKNOWN");
    assert.match(body.errors[0]?.message ?? "", /\^3/);
  });

  test("an unknown repository is 404 NAME_UNKNOWN", async () => {
    await expectError(
      await fetch(resolveUrl(uniqueRepo("resolve-missing"), { semver: "*" })),
      404,
      "NAME_UNKNOWN",
    );
  });

  test("a bad policy is 400 INVALID_REQUEST with the reason, before any lookup", async () => {
    const repo = uniqueRepo("resolve-bad");
    await seedTags(server.url, repo, ["1.0.0"]);
    const cases: [Record<string, string>, RegExp][] = [
      [{ semver: "not a range" }, /semver|range/i],
      [{ order: "random" }, /order/],
      [{ order: "numerical", direction: "sideways" }, /direction/],
      [{ semver: "*", helm: "yes" }, /helm/],
      [{ semver: "x".repeat(5000) }, /longer than 256/],
    ];
    for (const [query, reason] of cases) {
      const res = await fetch(resolveUrl(repo, query));
      const body = (await res.clone().json()) as { errors: { message: string }[] };
      await expectError(res, 400, "INVALID_REQUEST");
      assert.match(body.errors[0]?.message ?? "", reason, JSON.stringify(query));
    }
    // Checked before the repository is looked up: an unknown repository gets the same 400.
    await expectError(
      await fetch(resolveUrl(uniqueRepo("resolve-bad-missing"), { order: "random" })),
      400,
      "INVALID_REQUEST",
    );
  });

  test("an invalid repository name is refused", async () => {
    const res = await fetch(`${server.url}/api/v1/repositories/Bad..Name/resolve?semver=*`);
    await expectError(res, 400, "NAME_INVALID");
  });
});
