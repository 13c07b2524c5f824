import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startWharf, type TestServer } from "../helpers/server.js";
import { allPages, api, apiOk, pushImage, pushShaped, type SearchResult } from "./support.js";

const TITLE = "org.opencontainers.image.title";
const DESCRIPTION = "org.opencontainers.image.description";

describe("discovery: search", { timeout: 300_000 }, () => {
  let wharf: TestServer;
  const search = (query: string) => apiOk<{ results: SearchResult[] }>(wharf.url, `/api/v1/search?${query}`);
  const repos = (results: SearchResult[]) => results.map((r) => r.repository);

  before(async () => {
    wharf = await startWharf();
    const url = wharf.url;
    await pushImage(url, "search/redis", "7", { [TITLE]: "Cache server" });
    // Matches by name and by description: listed once, by its best match.
    await pushImage(url, "search/redis-operator", "1", {
      [TITLE]: "Operator for clusters",
      [DESCRIPTION]: "Runs Redis clusters",
    });
    await pushImage(url, "search/cache", "1", { [TITLE]: "Redis cache companion" });
    await pushImage(url, "search/tagged", "redis-1", { [TITLE]: "Tagged only" });
    await pushImage(url, "search/other", "1", { [DESCRIPTION]: "Works well with Redis and friends" });
    await pushImage(url, "search/annotated", "1", { "com.example.team": "Redis-Team" });
    await pushShaped(
      url,
      "search/redis-chart",
      "0.1.0",
      {
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.cncf.helm.config.v1+json", size: 0 },
        layers: [{ mediaType: "application/vnd.cncf.helm.chart.content.v1.tar+gzip", size: 300 }],
      },
      { name: "redis-chart", version: "0.1.0", apiVersion: "v2" },
    );
    // Enough for more than one default page.
    for (let i = 0; i < 105; i++) await pushImage(url, `bulk/item${String(i).padStart(3, "0")}`, "1");
  });
  after(async () => {
    await wharf?.stop();
  });

  test("results come in relevance order: exact name, name prefix, title or tag, description, annotation", async () => {
    const { body } = await search("q=redis");
    assert.deepEqual(repos(body.results), [
      "search/redis",
      "search/redis-chart",
      "search/redis-operator",
      "search/cache",
      "search/tagged",
      "search/other",
      "search/annotated",
    ]);
    const scores = body.results.map((r) => r.score);
    assert.deepEqual(
      [...scores].sort((a, b) => b - a),
      scores,
    );
    assert.equal(body.results[0]?.kind, "oci-image");
    assert.deepEqual(body.results[0]?.tags, ["7"]);
    // Case does not matter, and a prefix of a word is enough.
    assert.deepEqual(repos((await search("q=REDI")).body.results), repos(body.results));
  });

  test("kind and annotation filters narrow the results", async () => {
    assert.deepEqual(repos((await search("q=redis&kind=helm-chart")).body.results), ["search/redis-chart"]);
    assert.deepEqual(repos((await search("annotation=com.example.team%3Dredis-team")).body.results), [
      "search/annotated",
    ]);
    assert.deepEqual(
      repos((await search("q=search&annotation=com.example.team%3Dredis-team")).body.results),
      ["search/annotated"],
    );
    assert.deepEqual((await search("q=redis&annotation=com.example.team%3Dother")).body.results, []);
  });

  test("pages follow Link with n and last, in the same order, without repeats", async () => {
    const whole = repos((await search("q=redis")).body.results);
    for (const n of [1, 2, 3]) {
      const paged = await allPages<SearchResult>(wharf.url, `/api/v1/search?q=redis&n=${n}`, "results");
      assert.deepEqual(repos(paged.items), whole, `n=${n}`);
      assert.equal(paged.pages, Math.ceil(whole.length / n));
    }
    const first = await search("q=bulk");
    assert.equal(first.body.results.length, 100, "the default page is 100");
    assert.match(first.res.headers.get("link") ?? "", /^<\/api\/v1\/search\?q=bulk&last=[^>]+>; rel="next"$/);
    const all = await allPages<SearchResult>(wharf.url, "/api/v1/search?q=bulk&n=1000000", "results");
    assert.equal(all.items.length, 105);
    assert.equal(all.pages, 1);
  });

  test("an untagged tag no longer finds its artifact", async () => {
    await pushImage(wharf.url, "search/retag", "zebra-1");
    assert.deepEqual(repos((await search("q=zebra")).body.results), ["search/retag"]);
    const res = await fetch(`${wharf.url}/v2/search/retag/manifests/zebra-1`, { method: "DELETE" });
    assert.equal(res.status, 202);
    assert.deepEqual((await search("q=zebra")).body.results, []);
    // A tag moved to another manifest finds only that one.
    await pushImage(wharf.url, "search/moved", "yak");
    const second = await pushImage(wharf.url, "search/moved", "yak");
    const moved = (await search("q=yak")).body.results;
    assert.deepEqual(
      moved.map((r) => r.digest),
      [second.digest],
    );
  });

  test("bad parameters are refused with an OCI error before any work", async () => {
    const cases: [string, number, string][] = [
      ["q=" + "x".repeat(201), 400, "INVALID_REQUEST"],
      ["q=", 400, "INVALID_REQUEST"],
      ["kind=helm-chart", 400, "INVALID_REQUEST"],
      ["q=redis&kind=nope", 400, "INVALID_REQUEST"],
      ["q=redis&n=abc", 400, "PAGINATION_NUMBER_INVALID"],
      ["q=redis&last=not-a-cursor", 400, "INVALID_REQUEST"],
      ["annotation=novalue", 400, "INVALID_REQUEST"],
      ["q=a%00b", 400, "INVALID_REQUEST"],
    ];
    for (const [query, status, code] of cases) {
      const r = await api<{ errors: { code: string }[] }>(wharf.url, `/api/v1/search?${query}`);
      assert.equal(r.status, status, `${query}: ${JSON.stringify(r.body)}`);
      assert.equal(r.res.headers.get("content-type"), "application/json");
      assert.equal(r.body.errors[0]?.code, code, query);
    }
    const many = Array.from({ length: 9 }, (_, i) => `annotation=k${i}%3Dv`).join("&");
    assert.equal((await api(wharf.url, `/api/v1/search?q=x&${many}`)).status, 400);
  });

  test("repositories?q= matches names by prefix and pages in name order", async () => {
    const { items } = await allPages<{ name: string }>(
      wharf.url,
      "/api/v1/repositories?q=redis&n=1",
      "repositories",
    );
    assert.deepEqual(
      items.map((r) => r.name),
      ["search/redis", "search/redis-chart", "search/redis-operator"],
    );
    const bulk = await allPages<{ name: string }>(wharf.url, "/api/v1/repositories?q=bulk", "repositories");
    assert.equal(bulk.items.length, 105);
    assert.equal(bulk.pages, 2);
  });
});
