/** OCI Distribution Spec v1.1 listings over real HTTP: tags, the catalog and referrers, with pagination. */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { startWharf, type TestServer } from "../helpers/server.js";
import {
  HELM_CONFIG,
  OCI_EMPTY,
  OCI_INDEX,
  OCI_MANIFEST,
  expectError,
  imageManifest,
  indexManifest,
  listTags,
  nextLink,
  pushBlob,
  pushImage,
  putManifest,
  resolveLink,
  sha256,
  uniqueRepo,
  type Descriptor,
} from "./manifest-support.js";

/** From README / src/registry/pagination.ts. */
const DEFAULT_PAGE_SIZE = 1000;
const MAX_PAGE_SIZE = 10_000;

let server: TestServer;
let url: string;

before(async () => {
  server = await startWharf();
  url = server.url;
});

after(async () => {
  await server?.stop();
});

function shuffle<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomBytes(4).readUInt32BE() % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** Tags `digest` in `repo` with every tag, many per request. */
async function tagAll(repo: string, digest: string, body: Buffer, tags: string[], perRequest = 500) {
  for (let i = 0; i < tags.length; i += perRequest) {
    const query = `?${tags
      .slice(i, i + perRequest)
      .map((t) => `tag=${encodeURIComponent(t)}`)
      .join("&")}`;
    const put = await putManifest(url, repo, digest, body, OCI_MANIFEST, query);
    assert.equal(put.status, 201, JSON.stringify(put.errors));
  }
}

/** Follows Link headers from `first` and returns every page's items and sizes. */
async function walk<T>(
  first: string,
  items: (doc: unknown) => T[],
  check?: (res: Response) => void,
): Promise<{ all: T[]; pages: number[]; links: string[] }> {
  const all: T[] = [];
  const pages: number[] = [];
  const links: string[] = [];
  let next: string | undefined = first;
  for (let guard = 0; next !== undefined; guard++) {
    assert.ok(guard < 1000, "pagination does not end");
    const res: Response = await fetch(next);
    assert.equal(res.status, 200, `${next} answered ${res.status}`);
    check?.(res);
    const page = items(await res.json());
    all.push(...page);
    pages.push(page.length);
    const link = nextLink(res);
    if (link) links.push(link);
    next = link ? resolveLink(url, link) : undefined;
  }
  return { all, pages, links };
}

const tagsOf = (doc: unknown) => (doc as { tags: string[] | null }).tags ?? [];
const reposOf = (doc: unknown) => (doc as { repositories: string[] | null }).repositories ?? [];
const manifestsOf = (doc: unknown) => (doc as { manifests: Descriptor[] }).manifests;

describe("tags/list", () => {
  const tricky = [
    "latest",
    "1",
    "10",
    "2",
    "1.0",
    "1.0.0",
    "1.0.0-rc1",
    "1-0",
    "1_0",
    "v1.10.0",
    "v1.9.0",
    "v1.2",
    "v1-2",
    "V1",
    "A",
    "Z",
    "a",
    "z",
    "_hidden",
    "UPPER-lower",
    "x.y.z",
    "0",
    "00",
    "9",
  ];
  const expected = [...tricky].sort(); // code-point order, as Distribution's sort.Strings
  let repo: string;

  before(async () => {
    repo = uniqueRepo("tags");
    const image = await pushImage(url, repo);
    // One tag per request, in random order, so insertion order cannot pass for sorting.
    for (const tag of shuffle(tricky)) {
      const put = await putManifest(url, repo, tag, image.body, OCI_MANIFEST);
      assert.equal(put.status, 201);
    }
  });

  test("lists every tag once, sorted", async () => {
    const { res, tags } = await listTags(url, repo);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    assert.deepEqual(tags, expected);
    assert.equal(res.headers.get("link"), null, "a complete list has no next page");
  });

  test("n limits the page and the Link header leads through all tags exactly once", async () => {
    for (const n of [1, 5, 7, 8, expected.length - 1]) {
      const { all, pages } = await walk(`${url}/v2/${repo}/tags/list?n=${n}`, tagsOf);
      assert.deepEqual(all, expected, `n=${n}`);
      assert.ok(
        pages.every((size) => size <= n),
        `n=${n}: pages ${pages.join(",")}`,
      );
      assert.ok(
        pages.slice(0, -1).every((size) => size === n),
        `n=${n}: short page before the last`,
      );
      // No empty trailing page is announced: a page of exactly n items at the end has no Link.
      assert.equal(pages.length, Math.ceil(expected.length / n), `n=${n}: pages ${pages.join(",")}`);
    }
  });

  test("the Link header is a relative /v2 URL keeping n and setting last", async () => {
    const res = await fetch(`${url}/v2/${repo}/tags/list?n=3`);
    const link = nextLink(res);
    assert.ok(link);
    const target = new URL(link, url);
    assert.equal(target.pathname, `/v2/${repo}/tags/list`);
    assert.equal(target.searchParams.get("n"), "3");
    assert.equal(target.searchParams.get("last"), expected[2]);
    assert.deepEqual(tagsOf(await res.json()), expected.slice(0, 3));
  });

  test("n equal to the number of tags gives one page without a Link", async () => {
    const res = await fetch(`${url}/v2/${repo}/tags/list?n=${expected.length}`);
    assert.deepEqual(tagsOf(await res.json()), expected);
    assert.equal(res.headers.get("link"), null);
  });

  test("last alone returns the tags after it; last between tags works too", async () => {
    const pivot = expected[10] ?? "";
    const after = await listTags(url, repo, `?last=${encodeURIComponent(pivot)}`);
    assert.deepEqual(after.tags, expected.slice(11));
    const between = await listTags(url, repo, `?last=${encodeURIComponent("1.0.0-a")}`);
    assert.deepEqual(
      between.tags,
      expected.filter((t) => t > "1.0.0-a"),
    );
    const end = await listTags(url, repo, `?last=${encodeURIComponent(expected.at(-1) ?? "")}`);
    assert.deepEqual(end.tags, []);
    const both = await listTags(url, repo, `?n=2&last=${encodeURIComponent(pivot)}`);
    assert.deepEqual(both.tags, expected.slice(11, 13));
    assert.ok(nextLink(both.res));
  });

  test("n=0 answers an empty list", async () => {
    const { res, tags } = await listTags(url, repo, "?n=0");
    assert.deepEqual(tags, []);
    assert.equal(res.headers.get("link"), null);
  });

  test("an invalid n is 400 PAGINATION_NUMBER_INVALID", async () => {
    for (const n of ["abc", "-1", "1.5", "1e3", " 3"]) {
      const res = await fetch(`${url}/v2/${repo}/tags/list?n=${encodeURIComponent(n)}`);
      await expectError(res, 400, "PAGINATION_NUMBER_INVALID");
    }
  });

  test("an unknown repository is 404 NAME_UNKNOWN", async () => {
    await expectError(await fetch(`${url}/v2/${uniqueRepo("ghost")}/tags/list`), 404, "NAME_UNKNOWN");
  });

  test("a repository whose only tag was deleted lists no tags", async () => {
    const bare = uniqueRepo("bare");
    await pushImage(url, bare, "only");
    const del = await fetch(`${url}/v2/${bare}/manifests/only`, { method: "DELETE" });
    assert.equal(del.status, 202);
    assert.deepEqual((await listTags(url, bare)).tags, []);
  });

  test(`without n a page holds ${DEFAULT_PAGE_SIZE} tags; n above ${MAX_PAGE_SIZE} is capped`, async () => {
    const big = uniqueRepo("many");
    const image = await pushImage(url, big);
    const count = MAX_PAGE_SIZE + 5;
    const tags = Array.from({ length: count }, (_, i) => `t${String(i).padStart(5, "0")}`);
    await tagAll(big, image.digest, image.body, tags, 1000);

    const firstDefault = await fetch(`${url}/v2/${big}/tags/list`);
    assert.equal(tagsOf(await firstDefault.json()).length, DEFAULT_PAGE_SIZE);
    assert.ok(nextLink(firstDefault), "a default page of a longer list has a Link");

    const capped = await walk(`${url}/v2/${big}/tags/list?n=${MAX_PAGE_SIZE * 2}`, tagsOf);
    assert.deepEqual(capped.pages, [MAX_PAGE_SIZE, 5]);
    assert.deepEqual(capped.all, tags);
    const link = new URL(capped.links[0] ?? "", url);
    assert.equal(link.searchParams.get("n"), String(MAX_PAGE_SIZE));

    const huge = await fetch(`${url}/v2/${big}/tags/list?n=${"9".repeat(30)}`);
    assert.equal(huge.status, 200);
    assert.equal(tagsOf(await huge.json()).length, MAX_PAGE_SIZE);
  });
});

describe("_catalog", () => {
  const names = ["cat/zeta", "cat/alpha", "cat/alpha/nested", "cat/a-b", "cat/a.b", "cat/a_b", "cat/0"];

  before(async () => {
    for (const name of shuffle(names)) await pushImage(url, name, "v1");
  });

  test("lists repositories sorted, each once", async () => {
    const res = await fetch(`${url}/v2/_catalog`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    const repos = reposOf(await res.json());
    assert.deepEqual(repos, [...repos].sort());
    assert.equal(new Set(repos).size, repos.length);
    const ours = repos.filter((r) => r.startsWith("cat/"));
    assert.deepEqual(ours, [...names].sort());
  });

  test("n and last paginate with a Link header through every repository exactly once", async () => {
    const full = reposOf(await (await fetch(`${url}/v2/_catalog`)).json());
    for (const n of [1, 2, 3]) {
      const { all, pages } = await walk(`${url}/v2/_catalog?n=${n}`, reposOf);
      assert.deepEqual(all, full, `n=${n}`);
      assert.ok(pages.every((size) => size <= n && size > 0));
    }
    const afterAlpha = reposOf(await (await fetch(`${url}/v2/_catalog?n=2&last=cat/alpha`)).json());
    assert.deepEqual(afterAlpha, full.filter((r) => r > "cat/alpha").slice(0, 2));
  });

  test("n=0 is empty; invalid n is PAGINATION_NUMBER_INVALID", async () => {
    const res = await fetch(`${url}/v2/_catalog?n=0`);
    assert.equal(res.status, 200);
    assert.deepEqual(reposOf(await res.json()), []);
    await expectError(await fetch(`${url}/v2/_catalog?n=x`), 400, "PAGINATION_NUMBER_INVALID");
  });
});

describe("referrers", () => {
  let repo: string;
  let subject: Descriptor;
  let emptyConfig: Descriptor;
  const SIG = "application/vnd.example.signature.v1";
  const SBOM = "application/vnd.example.sbom.v1";

  before(async () => {
    repo = uniqueRepo("refs");
    const image = await pushImage(url, repo, "v1");
    subject = { mediaType: image.mediaType, digest: image.digest, size: image.size };
    emptyConfig = await pushBlob(url, repo, "{}", OCI_EMPTY);
  });

  async function pushReferrer(
    artifactType: string | undefined,
    annotations: Record<string, string>,
    target = subject,
    reference?: string,
  ): Promise<Descriptor> {
    const doc = imageManifest(
      { config: emptyConfig, layers: [] },
      { artifactType, subject: target, annotations },
    );
    const body = Buffer.from(JSON.stringify(doc));
    const put = await putManifest(url, repo, reference ?? sha256(body), body, OCI_MANIFEST);
    assert.equal(put.status, 201, JSON.stringify(put.errors));
    assert.equal(put.res.headers.get("oci-subject"), target.digest);
    const descriptor: Descriptor = { mediaType: OCI_MANIFEST, digest: put.digest, size: body.length };
    if (artifactType) descriptor.artifactType = artifactType;
    descriptor.annotations = annotations;
    return descriptor;
  }

  async function referrers(digest: string, query = "") {
    const res = await fetch(`${url}/v2/${repo}/referrers/${digest}${query}`);
    assert.equal(res.status, 200, `referrers answered ${res.status}`);
    assert.equal(res.headers.get("content-type")?.split(";")[0], OCI_INDEX);
    const doc = (await res.json()) as { schemaVersion: number; mediaType: string; manifests: Descriptor[] };
    assert.equal(doc.schemaVersion, 2);
    assert.equal(doc.mediaType, OCI_INDEX);
    assert.ok(Array.isArray(doc.manifests));
    return { res, manifests: doc.manifests };
  }

  const byDigest = (a: Descriptor, b: Descriptor) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0);

  test("lists every manifest and index with that subject, with artifactType, annotations, size", async () => {
    const local = await pushImage(url, repo, "base2");
    const target = { mediaType: local.mediaType, digest: local.digest, size: local.size };
    const sig = await pushReferrer(SIG, { "org.example.signer": "alice" }, target);
    const sbom = await pushReferrer(
      SBOM,
      { "org.opencontainers.image.created": "2024-01-01T00:00:00Z" },
      target,
    );

    // Only config.mediaType: the artifactType reported is the config's media type (a Helm-like chart).
    const helmConfig = await pushBlob(url, repo, '{"name":"c","version":"1"}', HELM_CONFIG);
    const helmDoc = imageManifest({ config: helmConfig, layers: [] }, { subject: target });
    const helm = await putManifest(url, repo, "chart-ref", helmDoc);
    assert.equal(helm.status, 201);

    // An index with a subject and an artifactType, and one without artifactType (which must be omitted).
    const child = await pushImage(url, repo);
    const childDesc = { mediaType: child.mediaType, digest: child.digest, size: child.size };
    const idxTyped = indexManifest([childDesc], {
      artifactType: "application/vnd.example.bundle",
      subject: target,
      annotations: { kind: "bundle" },
    });
    const typed = await putManifest(url, repo, "idx-typed", idxTyped);
    assert.equal(typed.status, 201);
    assert.equal(typed.res.headers.get("oci-subject"), target.digest);
    const idxPlain = indexManifest([childDesc], { subject: target });
    const plain = await putManifest(url, repo, "idx-plain", idxPlain);
    assert.equal(plain.status, 201);

    const { manifests, res } = await referrers(target.digest);
    assert.equal(res.headers.get("oci-filters-applied"), null, "no filter was asked for");
    const expected: Descriptor[] = [
      sig,
      sbom,
      { mediaType: OCI_MANIFEST, digest: helm.digest, size: helm.body.length, artifactType: HELM_CONFIG },
      {
        mediaType: OCI_INDEX,
        digest: typed.digest,
        size: typed.body.length,
        artifactType: "application/vnd.example.bundle",
        annotations: { kind: "bundle" },
      },
      { mediaType: OCI_INDEX, digest: plain.digest, size: plain.body.length },
    ];
    assert.deepEqual([...manifests].sort(byDigest), expected.sort(byDigest));
    const plainEntry = manifests.find((m) => m.digest === plain.digest);
    assert.ok(plainEntry && !("artifactType" in plainEntry), "an index without artifactType has none");
  });

  test("?artifactType= filters and says so in OCI-Filters-Applied", async () => {
    const local = await pushImage(url, repo);
    const target = { mediaType: local.mediaType, digest: local.digest, size: local.size };
    const sig = await pushReferrer(SIG, { n: "1" }, target);
    await pushReferrer(SBOM, { n: "2" }, target);
    const sig2 = await pushReferrer(SIG, { n: "3" }, target);

    const { res, manifests } = await referrers(target.digest, `?artifactType=${encodeURIComponent(SIG)}`);
    assert.equal(res.headers.get("oci-filters-applied"), "artifactType");
    assert.deepEqual([...manifests].sort(byDigest), [sig, sig2].sort(byDigest));

    const none = await referrers(target.digest, `?artifactType=${encodeURIComponent("application/x-none")}`);
    assert.deepEqual(none.manifests, []);
    assert.equal(none.res.headers.get("oci-filters-applied"), "artifactType");

    const all = await referrers(target.digest);
    assert.equal(all.manifests.length, 3);
  });

  test("an unknown digest, or an unknown repository, answers 200 with an empty index", async () => {
    const { manifests } = await referrers(sha256(randomBytes(10)));
    assert.deepEqual(manifests, []);
    const res = await fetch(`${url}/v2/${uniqueRepo("norefs")}/referrers/${sha256("x")}`);
    assert.equal(res.status, 200);
    assert.deepEqual(manifestsOf(await res.json()), []);
  });

  test("a malformed digest is 400", async () => {
    const res = await fetch(`${url}/v2/${repo}/referrers/sha256:abc`);
    await expectError(res, 400, "DIGEST_INVALID");
    const tag = await fetch(`${url}/v2/${repo}/referrers/latest`);
    assert.equal(tag.status, 400);
    await tag.arrayBuffer();
  });

  test("referrers are listed for a subject that was never pushed", async () => {
    const ghost = { mediaType: OCI_MANIFEST, digest: sha256(randomBytes(12)), size: 99 };
    const ref = await pushReferrer(SIG, { ghost: "yes" }, ghost);
    const { manifests } = await referrers(ghost.digest);
    assert.deepEqual(manifests, [ref]);
  });

  test("referrers in another repository are not listed", async () => {
    const local = await pushImage(url, repo);
    const other = uniqueRepo("elsewhere");
    const otherConfig = await pushBlob(url, other, "{}", OCI_EMPTY);
    const target = { mediaType: local.mediaType, digest: local.digest, size: local.size };
    const doc = imageManifest({ config: otherConfig, layers: [] }, { artifactType: SIG, subject: target });
    assert.equal((await putManifest(url, other, "sig", doc)).status, 201);
    assert.deepEqual((await referrers(target.digest)).manifests, []);
  });

  test("deleting a referrer removes it from the list; untagging does not", async () => {
    const local = await pushImage(url, repo);
    const target = { mediaType: local.mediaType, digest: local.digest, size: local.size };
    const keep = await pushReferrer(SBOM, { keep: "1" }, target, "tagged-ref");
    const gone = await pushReferrer(SIG, { gone: "1" }, target);
    assert.equal((await referrers(target.digest)).manifests.length, 2);

    const untag = await fetch(`${url}/v2/${repo}/manifests/tagged-ref`, { method: "DELETE" });
    assert.equal(untag.status, 202);
    const del = await fetch(`${url}/v2/${repo}/manifests/${gone.digest}`, { method: "DELETE" });
    assert.equal(del.status, 202);
    assert.deepEqual((await referrers(target.digest)).manifests, [keep]);
  });

  test("n paginates with a Link header that keeps the filter; every referrer appears once", async () => {
    const local = await pushImage(url, repo);
    const target = { mediaType: local.mediaType, digest: local.digest, size: local.size };
    const sigs: Descriptor[] = [];
    for (let i = 0; i < 7; i++) sigs.push(await pushReferrer(SIG, { i: String(i) }, target));
    const sboms: Descriptor[] = [];
    for (let i = 0; i < 4; i++) sboms.push(await pushReferrer(SBOM, { i: String(i) }, target));

    const check = (res: Response) =>
      assert.equal(res.headers.get("content-type")?.split(";")[0], OCI_INDEX, "every page is an index");
    const everything = await walk(`${url}/v2/${repo}/referrers/${target.digest}?n=3`, manifestsOf, check);
    assert.deepEqual(everything.pages, [3, 3, 3, 2]);
    assert.deepEqual([...everything.all].sort(byDigest), [...sigs, ...sboms].sort(byDigest));
    assert.equal(new Set(everything.all.map((d) => d.digest)).size, 11);

    const filtered = await walk(
      `${url}/v2/${repo}/referrers/${target.digest}?n=2&artifactType=${encodeURIComponent(SIG)}`,
      manifestsOf,
      (res) => assert.equal(res.headers.get("oci-filters-applied"), "artifactType"),
    );
    assert.deepEqual(filtered.pages, [2, 2, 2, 1]);
    assert.deepEqual([...filtered.all].sort(byDigest), [...sigs].sort(byDigest));
    assert.equal(filtered.links.length, 3, "three pages link to a next one");
    for (const link of filtered.links) {
      assert.equal(new URL(link, url).searchParams.get("artifactType"), SIG, `link ${link} lost the filter`);
    }
  });

  test(`more than ${DEFAULT_PAGE_SIZE} referrers without n: a full page and a Link to the rest`, async () => {
    const local = await pushImage(url, repo);
    const target = { mediaType: local.mediaType, digest: local.digest, size: local.size };
    const total = DEFAULT_PAGE_SIZE + 3;
    const pushed: string[] = [];
    for (let start = 0; start < total; start += 50) {
      const batch = Array.from({ length: Math.min(50, total - start) }, (_, k) => start + k);
      const docs = batch.map((i) =>
        Buffer.from(
          JSON.stringify(
            imageManifest(
              { config: emptyConfig, layers: [] },
              { artifactType: SIG, subject: target, annotations: { i: String(i) } },
            ),
          ),
        ),
      );
      const puts = await Promise.all(docs.map((b) => putManifest(url, repo, sha256(b), b, OCI_MANIFEST)));
      for (const put of puts) {
        assert.equal(put.status, 201);
        pushed.push(put.digest);
      }
    }
    const { all, pages } = await walk(`${url}/v2/${repo}/referrers/${target.digest}`, manifestsOf);
    assert.deepEqual(pages, [DEFAULT_PAGE_SIZE, 3]);
    assert.deepEqual(all.map((d) => d.digest).sort(), pushed.sort());
  });

  test("an invalid n is PAGINATION_NUMBER_INVALID", async () => {
    await expectError(
      await fetch(`${url}/v2/${repo}/referrers/${subject.digest}?n=many`),
      400,
      "PAGINATION_NUMBER_INVALID",
    );
  });
});
