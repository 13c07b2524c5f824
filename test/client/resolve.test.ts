/**
 * Tag resolution on real registries: every case of Flux's table (test/helpers/flux-cases.ts) against
 * Wharf's server-side endpoint, Wharf paged by the client, and CNCF Distribution 2.8.2 paged by the
 * client, through the library and through `wharf resolve`; and the endpoint agreeing with client-side
 * paging over 50,000 tags, in the number of requests each takes.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, NotFoundError } from "../../src/client/index.js";
import { resolveTag, type ResolveOptions } from "../../src/client/resolve.js";
import { isValidTag } from "../../src/oci/names.js";
import { TagPolicyError, type TagPolicy } from "../../src/oci/tag-policy/index.js";
import { FLUX_CASES, type FluxCase } from "../helpers/flux-cases.js";
import { startWharf, type TestServer } from "../helpers/server.js";
import { seedTags } from "../helpers/tags.js";
import { cliHome, type CliHome } from "./cli.js";
import { startDistribution, type Distribution } from "./distribution.js";
import { startProxy, type TestProxy } from "./proxy.js";
import { policyFlags, type ResolveJson } from "./resolve-support.js";

let wharf: TestServer;
let distribution: Distribution;
let home: CliHome;
let scratch: string;
let client: Client;

before(async () => {
  [wharf, distribution, home] = await Promise.all([startWharf(), startDistribution(), cliHome()]);
  scratch = await mkdtemp(join(tmpdir(), "wharf-resolve-"));
  // Nobody's Docker config: these registries are open.
  client = new Client({ env: { HOME: scratch, DOCKER_CONFIG: scratch } });
});

after(async () => {
  client?.close();
  await Promise.all([wharf?.stop(), distribution?.stop(), home?.cleanup()]);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

type Outcome = { tag: string; digest: string } | { error: string } | { none: true };

async function libraryOutcome(
  host: string,
  repo: string,
  policy: TagPolicy,
  options: ResolveOptions,
): Promise<Outcome> {
  try {
    const ref = client.parse(`${host}/${repo}`);
    const resolved = await resolveTag(client, ref, policy, options);
    assert.equal(resolved.via, options.serverSide ? "server" : "client");
    return { tag: resolved.tag, digest: resolved.digest };
  } catch (err) {
    if (err instanceof TagPolicyError) return { error: err.message };
    if (err instanceof NotFoundError) return { none: true };
    throw err;
  }
}

/** `wharf resolve --json`; `via` is where it must have chosen (Wharf's endpoint wherever there is one). */
async function cliOutcome(host: string, repo: string, policy: TagPolicy, via: string): Promise<Outcome> {
  const result = await home.run(["resolve", `${host}/${repo}`, ...policyFlags(policy), "--json"]);
  if (result.code === 0) {
    const json = JSON.parse(result.stdout) as ResolveJson;
    assert.equal(json.reference, `${host}/${repo}:${json.tag}@${json.digest}`);
    assert.equal(json.via, via);
    return { tag: json.tag, digest: json.digest };
  }
  if (result.code === 3) return { none: true };
  assert.equal(result.code, 2, `exit ${result.code}: ${result.stderr}`);
  return { error: result.stderr };
}

/** The outcome the case's table entry expects, given the digests its tags were pushed with. */
function check(c: FluxCase, where: string, outcome: Outcome, digests: Map<string, string>): void {
  const label = `${c.name} on ${where}`;
  if (typeof c.expected === "string") {
    assert.deepEqual(outcome, { tag: c.expected, digest: digests.get(c.expected) }, label);
  } else if ("error" in c.expected) {
    assert.ok("error" in outcome, `${label}: expected an error, got ${JSON.stringify(outcome)}`);
    assert.match(outcome.error, c.expected.error, label);
  } else {
    assert.deepEqual(outcome, { none: true }, label);
  }
}

describe("Flux's cases on real registries", { timeout: 900_000 }, () => {
  const registries = () => [
    { name: "Wharf", host: wharf.host, base: wharf.url, via: "server" },
    { name: "Distribution 2.8.2", host: distribution.host, base: distribution.url, via: "client" },
  ];

  for (const [i, c] of FLUX_CASES.entries()) {
    // A tag the OCI grammar refuses (`1.0.0+build`) cannot be pushed; its case is the library's alone.
    const pushable = c.tags.every(isValidTag);
    test(
      c.name,
      { skip: pushable ? false : "a tag no registry accepts (the unit tests cover it)" },
      async () => {
        const repo = `flux/case-${i}`;
        for (const r of registries()) {
          const digests = await seedTags(r.base, repo, c.tags, { concurrency: 4 });
          const modes: [string, ResolveOptions][] =
            r.name === "Wharf"
              ? [
                  ["Wharf's endpoint", { serverSide: true }],
                  ["Wharf paged by the client", { serverSide: false }],
                ]
              : [[`${r.name} paged by the client`, {}]];
          for (const [where, options] of modes) {
            check(c, where, await libraryOutcome(r.host, repo, c.policy, options), digests);
          }
          check(c, `wharf resolve on ${r.name}`, await cliOutcome(r.host, repo, c.policy, r.via), digests);
        }
      },
    );
  }
});

describe("paging through tag lists", { timeout: 300_000 }, () => {
  let wharfProxy: TestProxy;
  let distributionProxy: TestProxy;

  before(async () => {
    [wharfProxy, distributionProxy] = await Promise.all([
      startProxy({ target: wharf.url }),
      startProxy({ target: distribution.url }),
    ]);
  });

  after(async () => {
    await Promise.all([wharfProxy?.close(), distributionProxy?.close()]);
  });

  const tags = Array.from({ length: 25 }, (_, i) => `1.${i}.0`);

  test("Wharf's pages are followed to the end", async () => {
    const digests = await seedTags(wharf.url, "paging/app", tags);
    wharfProxy.seen.length = 0;
    const resolved = await resolveTag(
      client,
      client.parse(`${wharfProxy.host}/paging/app`),
      { semver: "^1" },
      {
        serverSide: false,
        pageSize: 10,
      },
    );
    assert.equal(resolved.tag, "1.24.0");
    assert.equal(resolved.digest, digests.get("1.24.0"));
    assert.equal(resolved.candidates, 25);
    const lists = wharfProxy.seen.filter((r) => r.url.includes("/tags/list"));
    assert.equal(lists.length, 3, JSON.stringify(lists));
  });

  test("Distribution 2.x, which answers every tag at once, is asked once", async () => {
    const digests = await seedTags(distribution.url, "paging/app", tags);
    distributionProxy.seen.length = 0;
    const resolved = await resolveTag(
      client,
      client.parse(`${distributionProxy.host}/paging/app`),
      { semver: "^1" },
      { pageSize: 10 },
    );
    assert.equal(resolved.tag, "1.24.0");
    assert.equal(resolved.digest, digests.get("1.24.0"));
    assert.equal(resolved.candidates, 25);
    const lists = distributionProxy.seen.filter((r) => r.url.includes("/tags/list"));
    assert.equal(lists.length, 1, JSON.stringify(lists));
    const heads = distributionProxy.seen.filter((r) => r.method === "HEAD");
    assert.equal(heads.length, 1);
  });
});

describe("50,000 tags: the endpoint agrees with client-side paging", { timeout: 600_000 }, () => {
  const COUNT = 50_000;
  let proxy: TestProxy;
  let digests: Map<string, string>;

  before(async () => {
    proxy = await startProxy({ target: wharf.url });
    // 500 manifests of 100 tags each, one request per manifest (Wharf's repeated ?tag=).
    const tags = Array.from(
      { length: COUNT },
      (_, i) => `${Math.floor(i / 1000)}.${Math.floor(i / 10) % 100}.${i % 10}`,
    );
    tags.push("latest", "main-0f3c2a1", "9.9.9-rc.1", "v49.1.1");
    digests = await seedTags(wharf.url, "big/app", tags, { perManifest: 100, multiTag: true });
  });

  after(async () => {
    await proxy?.close();
  });

  const policies: TagPolicy[] = [
    { semver: "*" },
    { semver: "^1.2" },
    { semver: ">=10.50.0 <10.51.0" },
    { semver: ">=49.99.9-0" },
    { order: "alphabetical" },
    { order: "alphabetical", direction: "desc" },
  ];

  for (const policy of policies) {
    test(JSON.stringify(policy), async () => {
      const ref = client.parse(`${proxy.host}/big/app`);
      proxy.seen.length = 0;
      const server = await resolveTag(client, ref, policy, { serverSide: true });
      const serverRequests = proxy.seen.filter((r) => r.url.includes("/resolve"));
      assert.equal(serverRequests.length, 1);
      assert.equal(proxy.seen.filter((r) => r.url.includes("/tags/list")).length, 0);
      proxy.seen.length = 0;
      const paged = await resolveTag(client, ref, policy, { serverSide: false });
      const pages = proxy.seen.filter((r) => r.url.includes("/tags/list")).length;
      assert.ok(pages >= COUNT / 1000 && pages <= COUNT / 1000 + 1, `${pages} pages`);
      assert.deepEqual(
        { ...server, via: "" },
        { ...paged, via: "" },
        "the endpoint and client-side paging choose the same tag, digest and count",
      );
      assert.equal(server.digest, digests.get(server.tag));
    });
  }
});
