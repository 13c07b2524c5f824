import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { chmod, readFile, readdir, rm, utimes } from "node:fs/promises";
import { join } from "node:path";
import { startWharf } from "../helpers/server.js";
import { startDistribution } from "./distribution.js";
import { cliHome, type CliHome } from "./cli.js";
import { makeWorkspace, type Workspace } from "./workspace.js";

interface Registry {
  host: string;
  stop(): Promise<void>;
}

const registries: { name: string; start(): Promise<Registry> }[] = [
  { name: "wharf serve", start: () => startWharf() },
  { name: "Distribution 2.8 (docker-registry)", start: () => startDistribution() },
];

async function sameTree(a: string, b: string): Promise<void> {
  const entries = (await readdir(a, { recursive: true })).sort();
  assert.deepEqual((await readdir(b, { recursive: true })).sort(), entries);
  for (const entry of entries) {
    const left = await readFile(join(a, entry)).catch(() => undefined);
    const right = await readFile(join(b, entry)).catch(() => undefined);
    assert.deepEqual(right, left, `${entry} differs`);
  }
}

for (const kind of registries) {
  describe(`CLI round trips against ${kind.name}`, () => {
    let registry: Registry;
    let cli: CliHome;
    let ws: Workspace;
    let host: string;
    const digests: Record<string, string> = {};

    before(async () => {
      registry = await kind.start();
      host = registry.host;
      cli = await cliHome();
      ws = await makeWorkspace(cli.dir);
    });
    after(async () => {
      await registry.stop();
      await cli.cleanup();
    });

    test("push a directory, a Helm chart and a file; each prints its digest", async () => {
      const dir = await cli.run(["push", `${host}/team/deploy:v1`, ws.manifests]);
      assert.equal(dir.code, 0, dir.stderr);
      assert.match(dir.stdout, /^sha256:[0-9a-f]{64}\n$/);
      digests.deploy = dir.stdout.trim();

      const chart = await cli.run(["push", `${host}/charts/mychart`, ws.chart]);
      assert.equal(chart.code, 0, chart.stderr);
      assert.match(chart.stderr, /Helm chart mychart 0\.1\.0/);
      assert.match(chart.stderr, /charts\/mychart:0\.1\.0/, "tagged with the chart version");
      digests.chart = chart.stdout.trim();

      const file = await cli.run([
        "push",
        `${host}/team/notes:v1`,
        `${ws.notes}:text/plain`,
        "--artifact-type",
        "application/vnd.example.notes",
        "-a",
        "org.opencontainers.image.description=notes",
        "--json",
      ]);
      assert.equal(file.code, 0, file.stderr);
      const json = JSON.parse(file.stdout) as { digest: string; layers: { mediaType: string }[] };
      assert.equal(json.layers[0]?.mediaType, "text/plain");
      digests.notes = json.digest;
    });

    test("the same directory always gives the same digest", async () => {
      await utimes(join(ws.manifests, "service.yaml"), new Date(), new Date("2011-01-01"));
      await chmod(join(ws.manifests, "service.yaml"), 0o600);
      const again = await cli.run(["push", `${host}/team/deploy:v1-again`, ws.manifests]);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.stdout.trim(), digests.deploy);
    });

    test("ls lists artifacts by repository, then tags with digest and artifact type", async () => {
      const repos = await cli.run(["ls", host]);
      assert.equal(repos.code, 0, repos.stderr);
      const firstColumn = repos.stdout.split("\n").map((line) => line.split(/\s+/)[0]);
      for (const repo of ["charts/mychart", "team/deploy", "team/notes"])
        assert.ok(firstColumn.includes(repo), repo);

      const tags = await cli.run(["ls", `${host}/team/deploy`]);
      assert.equal(tags.code, 0, tags.stderr);
      assert.match(
        tags.stdout,
        new RegExp(`^v1\\s+${digests.deploy}\\s+application/vnd\\.unknown\\.artifact\\.v1$`, "m"),
      );

      const filtered = await cli.run([
        "ls",
        `${host}/team/notes`,
        "--artifact-type",
        "application/vnd.example.notes",
        "--json",
      ]);
      const listed = JSON.parse(filtered.stdout) as { tags: { tag: string; digest: string }[] };
      assert.deepEqual(
        listed.tags.map((t) => t.tag),
        ["v1"],
      );
      const none = await cli.run([
        "ls",
        `${host}/team/notes`,
        "--artifact-type",
        "application/other",
        "--json",
      ]);
      assert.deepEqual((JSON.parse(none.stdout) as { tags: unknown[] }).tags, []);
    });

    test("info describes without downloading layers", async () => {
      const info = await cli.run(["info", `${host}/charts/mychart:0.1.0`, "--json"]);
      assert.equal(info.code, 0, info.stderr);
      const parsed = JSON.parse(info.stdout) as {
        digest: string;
        artifactType: string;
        layers: { mediaType: string; annotations: Record<string, string> }[];
        referrers: unknown[];
      };
      assert.equal(parsed.digest, digests.chart);
      assert.equal(parsed.artifactType, "application/vnd.cncf.helm.config.v1+json");
      assert.equal(parsed.layers[0]?.mediaType, "application/vnd.cncf.helm.chart.content.v1.tar+gzip");
      assert.deepEqual(parsed.referrers, []);
      const notes = await cli.run(["info", `${host}/team/notes:v1`, "--json"]);
      const layer = (JSON.parse(notes.stdout) as { layers: { digest: string }[] }).layers[0];
      assert.ok(layer);
      const cached = join(
        cli.env.XDG_CACHE_HOME as string,
        "wharf",
        "blobs",
        "sha256",
        layer.digest.slice(7),
      );
      await assert.rejects(readFile(cached), "info did not download the layer");
      const human = await cli.run(["info", `${host}/team/notes:v1`]);
      assert.match(human.stdout, /Artifact type:\s+application\/vnd\.example\.notes/);
      assert.match(human.stdout, /org\.opencontainers\.image\.description:\s+notes/);
    });

    test("pull gives back byte-identical files and directories", async () => {
      const out = join(cli.dir, "pulled");
      for (const ref of [`${host}/team/deploy:v1`, `${host}/charts/mychart:0.1.0`, `${host}/team/notes:v1`]) {
        const pulled = await cli.run(["pull", ref, "-o", out]);
        assert.equal(pulled.code, 0, pulled.stderr);
      }
      await sameTree(ws.manifests, join(out, "k8s"));
      assert.deepEqual(await readFile(join(out, "mychart-0.1.0.tgz")), await readFile(ws.chart));
      assert.deepEqual(await readFile(join(out, "notes.txt")), await readFile(ws.notes));
      const again = await cli.run(["pull", `${host}/team/deploy:v1`, "-o", out]);
      assert.equal(again.code, 0);
      assert.match(again.stderr, /from the cache/);

      // Parallel processes sharing one cold cache.
      const env = { XDG_CACHE_HOME: join(cli.dir, "parallel-cache") };
      const parallel = await Promise.all(
        [1, 2, 3].map((i) =>
          cli.run(["pull", `${host}/charts/mychart:0.1.0`, "-o", join(cli.dir, `parallel-${i}`)], { env }),
        ),
      );
      for (const [i, result] of parallel.entries()) {
        assert.equal(result.code, 0, result.stderr);
        assert.deepEqual(
          await readFile(join(cli.dir, `parallel-${i + 1}`, "mychart-0.1.0.tgz")),
          await readFile(ws.chart),
        );
      }
      const verify = await cli.run(["cache", "verify", "--json"], { env });
      assert.equal(verify.code, 0, verify.stderr);
      assert.deepEqual((JSON.parse(verify.stdout) as { corrupt: string[] }).corrupt, []);
    });

    test("tag, tags with pagination, rm of a tag and of a digest", async () => {
      const tagged = await cli.run(["tag", `${host}/team/deploy:v1`, "a1", "a2", "a3", "a4"]);
      assert.equal(tagged.code, 0, tagged.stderr);
      assert.equal(tagged.stdout.trim(), digests.deploy);

      const all = await cli.run(["tags", `${host}/team/deploy`]);
      const everything = all.stdout.trim().split("\n");
      assert.deepEqual(everything, ["a1", "a2", "a3", "a4", "v1", "v1-again"]);
      // Page by page with -n and --last until there is no more (Distribution 2.8 ignores both: the client
      // cuts the pages itself).
      const paged: string[] = [];
      let last: string | undefined;
      for (let i = 0; i < 10; i++) {
        const page = await cli.run([
          "tags",
          `${host}/team/deploy`,
          "-n",
          "2",
          "--json",
          ...(last ? ["--last", last] : []),
        ]);
        assert.equal(page.code, 0, page.stderr);
        const parsed = JSON.parse(page.stdout) as { tags: string[]; next: string | null };
        assert.ok(parsed.tags.length <= 2);
        paged.push(...parsed.tags);
        if (!parsed.next) break;
        last = parsed.next;
      }
      assert.deepEqual(paged, everything);
      const untag = await cli.run(["rm", `${host}/team/deploy:a4`]);
      if (kind.name.startsWith("wharf")) {
        assert.equal(untag.code, 0, untag.stderr);
        assert.equal((await cli.run(["info", `${host}/team/deploy:a4`])).code, 3);
        assert.equal((await cli.run(["info", `${host}/team/deploy:a3`])).code, 0, "other tags stay");
      } else {
        // Distribution 2.8 cannot delete tags; the message says what to do instead.
        assert.notEqual(untag.code, 0);
        assert.match(untag.stderr, /cannot delete tags|by digest/);
      }
      const removed = await cli.run(["rm", `${host}/team/notes@${digests.notes}`]);
      assert.equal(removed.code, 0, removed.stderr);
      const gone = await cli.run(["pull", `${host}/team/notes:v1`, "-o", join(cli.dir, "gone"), "--refresh"]);
      assert.equal(gone.code, 3, gone.stderr);
      assert.match(gone.stderr, /not found/);
    });

    test("after the registry stops, pull works from the cache and says so", async () => {
      await registry.stop();
      const out = join(cli.dir, "offline");
      const pulled = await cli.run(["pull", `${host}/team/deploy:v1`, "-o", out]);
      assert.equal(pulled.code, 0, pulled.stderr);
      assert.match(pulled.stderr, /unreachable: used the cache/);
      await sameTree(ws.manifests, join(out, "k8s"));
      const chart = await cli.run(["pull", `${host}/charts/mychart:0.1.0`, "-o", out]);
      assert.equal(chart.code, 0, chart.stderr);
      assert.deepEqual(await readFile(join(out, "mychart-0.1.0.tgz")), await readFile(ws.chart));
      const refresh = await cli.run([
        "pull",
        `${host}/team/deploy:v1`,
        "-o",
        join(cli.dir, "refresh"),
        "--refresh",
      ]);
      assert.equal(refresh.code, 7, "--refresh needs the registry");
      assert.match(refresh.stderr, /cannot reach/);
      await rm(join(cli.dir, "refresh"), { recursive: true, force: true });
    });
  });
}
