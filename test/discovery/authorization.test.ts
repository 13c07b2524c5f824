import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import {
  ADMIN,
  addRule,
  basic,
  bearer,
  createRobot,
  getToken,
  imageManifest,
  pushBlob,
  putManifest,
  startAuthServer,
  digest,
  type AuthServer,
  type Credentials,
} from "../auth/support.js";
import { allPages, api, type ArtifactSummary, type RepositoryView, type SearchResult } from "./support.js";

const TITLE = "org.opencontainers.image.title";

/** Pushes an image as the administrator, with a title that every test searches for. */
async function push(url: string, repo: string, tag: string, title: string): Promise<string> {
  const auth = basic(ADMIN);
  const config = await pushBlob(
    url,
    repo,
    Buffer.from(JSON.stringify({ os: "linux", architecture: "amd64", n: randomBytes(4).toString("hex") })),
    auth,
  );
  const layer = await pushBlob(url, repo, randomBytes(64), auth);
  const manifest = imageManifest(config, layer, { [TITLE]: title });
  const res = await putManifest(url, repo, tag, manifest, auth);
  assert.equal(res.status, 201, `pushing ${repo}:${tag}`);
  return digest(manifest);
}

describe("discovery: a caller never learns of repositories it cannot pull", { timeout: 300_000 }, () => {
  let server: AuthServer;
  let robot: Credentials;
  let publicDigest: string;
  const everyone = ["public/app", "team-a/svc", "team-b/secret"];

  before(async () => {
    server = await startAuthServer();
    const url = server.url;
    publicDigest = await push(url, "public/app", "v1", "wharfshared app");
    await push(url, "public/app", `sha256-${publicDigest.slice(7)}.sig`, "wharfshared signature");
    await push(url, "team-a/svc", "v1", "wharfshared service");
    const secret = await push(url, "team-b/secret", "v1", "wharfshared secret");
    // An accessory in the hidden repository must not show in any count either.
    await push(url, "team-b/secret", `sha256-${secret.slice(7)}.sig`, "wharfshared secret signature");
    await addRule(url, "anonymous", "public/**", ["pull"]);
    robot = await createRobot(url, "ci-a", ["team-a/**"], ["pull"]);
  });
  after(async () => {
    await server?.stop();
  });

  /** Every discovery endpoint as one caller: what repositories it names. */
  async function seenBy(headers: Record<string, string>): Promise<Set<string>> {
    const url = server.url;
    const seen = new Set<string>();
    const repositories = await allPages<RepositoryView>(
      url,
      "/api/v1/repositories?n=1",
      "repositories",
      headers,
    );
    for (const r of repositories.items) seen.add(r.name);
    for (const query of [
      "q=wharfshared",
      "q=team",
      "q=secret",
      "q=v1",
      "annotation=" + encodeURIComponent(`${TITLE}=wharfshared secret`),
    ]) {
      const found = await allPages<SearchResult>(url, `/api/v1/search?${query}&n=1`, "results", headers);
      for (const r of found.items) seen.add(r.repository);
    }
    for (const kind of ["oci-image", "cosign-signature"]) {
      const byKind = await allPages<RepositoryView>(
        url,
        `/api/v1/repositories?kind=${kind}`,
        "repositories",
        headers,
      );
      for (const r of byKind.items) seen.add(r.name);
    }
    for (const name of everyone) {
      const listing = await api<{ artifacts?: ArtifactSummary[] }>(
        url,
        `/api/v1/repositories/${name}/artifacts`,
        headers,
      );
      if (listing.status === 200) seen.add(name);
      else assertUnknown(listing, name);
      const detail = await api(url, `/api/v1/artifacts/${name}:v1`, headers);
      if (detail.status === 200) seen.add(name);
      else assertUnknown(detail, name);
    }
    return seen;
  }

  /** Refused exactly as a repository that does not exist: nothing tells the two apart. */
  function assertUnknown(r: { status: number; body: unknown }, name: string) {
    assert.equal(r.status, 404, `${name}: ${JSON.stringify(r.body)}`);
    assert.deepEqual(r.body, {
      errors: [{ code: "NAME_UNKNOWN", message: "repository name not known to registry", detail: { name } }],
    });
  }

  test("anonymous callers see only what anonymous rules let them pull", async () => {
    assert.deepEqual([...(await seenBy({}))].sort(), ["public/app"]);
    // Its accessory counts are those of its own repository.
    const listing = await api<{ artifacts: ArtifactSummary[] }>(
      server.url,
      "/api/v1/repositories/public/app/artifacts",
    );
    assert.deepEqual(
      listing.body.artifacts.map((a) => [a.digest, a.accessories.count]),
      [[publicDigest, 1]],
    );
    const nowhere = await api(server.url, "/api/v1/repositories/team-b/nothing/artifacts");
    assertUnknown(nowhere, "team-b/nothing");
  });

  test("a robot scoped to one namespace sees that namespace only, by Basic or by token", async () => {
    // public/app is there because anyone may pull it (the anonymous rule applies to robots too).
    assert.deepEqual([...(await seenBy({ Authorization: basic(robot) }))].sort(), [
      "public/app",
      "team-a/svc",
    ]);
    // A token narrows it to the scopes it carries, as it does for /v2/.
    const token = await getToken(server.url, ["repository:team-a/svc:pull"], robot);
    assert.deepEqual([...(await seenBy({ Authorization: bearer(token) }))].sort(), ["team-a/svc"]);
  });

  test("an administrator sees every repository", async () => {
    assert.deepEqual([...(await seenBy({ Authorization: basic(ADMIN) }))].sort(), everyone);
  });

  test("wrong credentials are refused, not treated as anonymous", async () => {
    const res = await api(server.url, "/api/v1/repositories", {
      Authorization: basic({ name: "ci-a", password: "wrong" }),
    });
    assert.equal(res.status, 401);
  });
});
