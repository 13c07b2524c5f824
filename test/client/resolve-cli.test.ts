/**
 * `wharf resolve` and the policy flags on pull, info and cp against a real Wharf: what they print and
 * pull, the exit codes of their failures (2 a bad policy, 3 nothing matching), and choosing among the
 * cache's tags when the registry is gone.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Client } from "../../src/client/index.js";
import { startWharf, type TestServer } from "../helpers/server.js";
import { ADMIN, addRule, basic, startAuthServer } from "../auth/support.js";
import { seedTags } from "../helpers/tags.js";
import { cliHome, type CliHome } from "./cli.js";
import { pushArtifact } from "./fixtures.js";
import { ok } from "./registries.js";
import type { ResolveJson } from "./resolve-support.js";

const TAGS = ["1.0.0", "1.2.0", "1.2.5", "2.0.0", "2.1.0-rc.1", "latest"];

let server: TestServer;
let home: CliHome;
let client: Client;
const digests = new Map<string, string>();

async function seed(target: TestServer, repo: string): Promise<Map<string, string>> {
  const registry = client.registry(target.host);
  const pushed = new Map<string, string>();
  for (const tag of TAGS) {
    const data = await pushArtifact(registry, repo, tag, [Buffer.from(`content of ${tag}\n`)]);
    pushed.set(tag, data.digest);
  }
  return pushed;
}

before(async () => {
  [server, home] = await Promise.all([startWharf(), cliHome()]);
  client = new Client({ env: home.env });
  for (const [tag, digest] of await seed(server, "cli/app")) digests.set(tag, digest);
});

after(async () => {
  client?.close();
  await Promise.all([server?.stop(), home?.cleanup()]);
});

/** Whether the tag-policy library refuses this policy (or these tags) yet: some checks are its work. */

describe("wharf resolve", { timeout: 300_000 }, () => {
  test("prints the chosen tag pinned to its digest, usable as a pull reference", async () => {
    const result = ok(await home.run(["resolve", `${server.host}/cli/app`, "--semver", "^1.2"]));
    assert.equal(result.stdout, `${server.host}/cli/app:1.2.5@${digests.get("1.2.5")}\n`);
  });

  test("without a policy, the highest stable version", async () => {
    const result = ok(await home.run(["resolve", `${server.host}/cli/app`]));
    assert.equal(result.stdout, `${server.host}/cli/app:2.0.0@${digests.get("2.0.0")}\n`);
  });

  test("--json says what was chosen, by which policy, among how many", async () => {
    const result = ok(await home.run(["resolve", `${server.host}/cli/app`, "--semver", "~1.2", "--json"]));
    const json = JSON.parse(result.stdout) as ResolveJson;
    assert.deepEqual(json, {
      reference: `${server.host}/cli/app:1.2.5@${digests.get("1.2.5")}`,
      tag: "1.2.5",
      digest: digests.get("1.2.5"),
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      candidates: 2,
      policy: { semver: "~1.2" },
      via: "server",
    });
    const paged = ok(
      await home.run(["resolve", `${server.host}/cli/app`, "--semver", "~1.2", "--json", "--no-server-side"]),
    );
    assert.deepEqual(JSON.parse(paged.stdout), { ...json, via: "client" });
  });

  test("nothing matching exits 3 and names the policy", async () => {
    const result = await home.run(["resolve", `${server.host}/cli/app`, "--semver", "^9"]);
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /cli\/app has no tag matching semver \^9/);
    assert.equal(result.stdout, "");
  });

  test("a bad policy exits 2 before asking the registry", async () => {
    const bad: [string[], RegExp][] = [
      [["--semver", "not a range!"], /semver|range/i],
      [["--semver", "^1", "--order", "numerical"], /--semver or --order/],
      [["--asc"], /--order/],
      [["--order", "numerical", "--asc", "--desc"], /--asc or --desc/],
      [["--extract", "$1"], /--filter/],
      [["--semver-filter", "^v"], /--semver/],
      [["--order", "random"], /numerical, alphabetical/],
    ];
    for (const [flags, reason] of bad) {
      // An unreachable port: a policy refused before any request does not care.
      const result = await home.run(["resolve", "127.0.0.1:9/cli/app", ...flags]);
      assert.equal(result.code, 2, `${flags.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, reason, flags.join(" "));
    }
  });

  test("a reference with a tag or digest is refused: the policy picks the tag", async () => {
    for (const ref of [`${server.host}/cli/app:1.0.0`, `${server.host}/cli/app@${digests.get("1.0.0")}`]) {
      for (const command of ["resolve", "info"]) {
        const result = await home.run([command, ref, "--semver", "^1"]);
        assert.equal(result.code, 2, `${command} ${ref}: ${result.stderr}`);
        assert.match(result.stderr, /without a tag or digest/);
      }
    }
  });

  test("a bad regex exits 2, on the endpoint and paged", async () => {
    for (const extra of [[], ["--no-server-side"]]) {
      const result = await home.run(["resolve", `${server.host}/cli/app`, "--filter", "(", ...extra]);
      assert.equal(result.code, 2, result.stderr);
    }
  });

  test("a numerical order over a tag that is not a number exits 2, on the endpoint and paged", async () => {
    for (const extra of [[], ["--no-server-side"]]) {
      const result = await home.run(["resolve", `${server.host}/cli/app`, "--order", "numerical", ...extra]);
      assert.equal(result.code, 2, result.stderr);
      // The first non-number in byte order, whichever order the tags were listed in.
      assert.match(result.stderr, /tag "1\.0\.0" is not a number/);
    }
  });
});

describe("policies on pull, info and cp", { timeout: 300_000 }, () => {
  test("pull --semver pulls the chosen version", async () => {
    const out = join(home.dir, "pulled");
    const result = ok(await home.run(["pull", `${server.host}/cli/app`, "--semver", "^1.2", "-o", out]));
    assert.equal(result.stdout, `${digests.get("1.2.5")}\n`);
    assert.match(result.stderr, /Chose 1\.2\.5 \(of 2 matching tags\)/);
    assert.equal(await readFile(join(out, "file0.txt"), "utf8"), "content of 1.2.5\n");
  });

  test("pull refuses a policy with --file", async () => {
    const result = await home.run(["pull", "-f", "values.yaml", "--semver", "^1"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--file/);
  });

  test("--helm or --include-referrer-tags without a policy is refused, not ignored", async () => {
    for (const flag of ["--helm", "--include-referrer-tags"]) {
      for (const command of ["pull", "info"]) {
        const result = await home.run([command, `${server.host}/cli/app`, flag]);
        assert.equal(result.code, 2, result.stderr);
        assert.match(result.stderr, new RegExp(`${flag} changes how a policy reads tags`));
      }
    }
    // resolve has a policy of its own without flags (--semver '*'): the flag applies to it.
    ok(await home.run(["resolve", `${server.host}/cli/app`, "--include-referrer-tags"]));
  });

  test("info --semver describes the chosen version", async () => {
    const result = ok(await home.run(["info", `${server.host}/cli/app`, "--semver", "~1.0", "--json"]));
    const info = JSON.parse(result.stdout) as { digest: string; reference: string; resolution: ResolveJson };
    assert.equal(info.digest, digests.get("1.0.0"));
    assert.equal(info.reference, `${server.host}/cli/app:1.0.0@${digests.get("1.0.0")}`);
    assert.equal(info.resolution.tag, "1.0.0");
    assert.equal(info.resolution.candidates, 1);
    const text = ok(await home.run(["info", `${server.host}/cli/app`, "--semver", "~1.0"]));
    assert.match(text.stdout, /Chosen by policy:\s+1\.0\.0 of 1 matching tag/);
  });

  test("cp --semver copies the chosen version under its own tag", async () => {
    const result = ok(
      await home.run(["cp", `${server.host}/cli/app`, "--semver", "<2", `${server.host}/copies/app`]),
    );
    assert.equal(result.stdout, `${digests.get("1.2.5")}\n`);
    const copied = await client.registry(server.host).resolve("copies/app", "1.2.5");
    assert.equal(copied.digest, digests.get("1.2.5"));
  });
});

describe("layouts and logins", { timeout: 300_000 }, () => {
  test("an OCI layout's tags resolve like a registry's", async () => {
    const layout = join(home.dir, "layout");
    for (const tag of ["1.0.0", "1.2.5", "2.0.0"]) {
      ok(await home.run(["cp", `${server.host}/cli/app:${tag}`, `oci:${layout}:${tag}`]));
    }
    const result = ok(await home.run(["resolve", `oci:${layout}`, "--semver", "^1"]));
    assert.equal(result.stdout, `oci:${layout}:1.2.5@${digests.get("1.2.5")}\n`);
  });

  test("on a registry that wants a login, not found tells an anonymous caller to log in", async () => {
    const secured = await startAuthServer();
    try {
      await seedTags(secured.url, "team/app", ["1.0.0"], { headers: { Authorization: basic(ADMIN) } });
      await addRule(secured.url, "anonymous", "public/**", ["pull"]);
      const host = new URL(secured.url).host;
      const anonymous = await home.run(["resolve", `${host}/team/app`, "--semver", "^1"]);
      assert.equal(anonymous.code, 3, anonymous.stderr);
      assert.match(anonymous.stderr, /wharf login/);
      ok(
        await home.run(["login", host, "-u", ADMIN.name, "--password-stdin"], {
          input: `${ADMIN.password}\n`,
        }),
      );
      const logged = ok(await home.run(["resolve", `${host}/team/app`, "--semver", "^1"]));
      assert.match(logged.stdout, new RegExp(`^${host}/team/app:1\\.0\\.0@sha256:`));
    } finally {
      await secured.stop();
    }
  });
});

describe("offline", { timeout: 300_000 }, () => {
  test("with the registry gone, resolve and pull choose among the tags the cache knows", async () => {
    const gone = await startWharf();
    let stopped = false;
    try {
      const pushed = await seed(gone, "offline/app");
      ok(await home.run(["pull", `${gone.host}/offline/app`, "--semver", "^1", "-o", join(home.dir, "on")]));
      await gone.stop();
      stopped = true;
      const result = ok(await home.run(["resolve", `${gone.host}/offline/app`, "--semver", "^1"]));
      assert.equal(result.stdout, `${gone.host}/offline/app:1.2.5@${pushed.get("1.2.5")}\n`);
      assert.match(result.stderr, /unreachable: chose among cached tags/);
      const out = join(home.dir, "off");
      ok(await home.run(["pull", `${gone.host}/offline/app`, "--semver", "^1", "-o", out]));
      assert.equal(await readFile(join(out, "file0.txt"), "utf8"), "content of 1.2.5\n");
      // The cache knows only 1.2.5 of this repository: ^2 has nothing to choose from.
      const none = await home.run(["resolve", `${gone.host}/offline/app`, "--semver", "^2"]);
      assert.equal(none.code, 3, none.stderr);
    } finally {
      if (!stopped) await gone.stop();
    }
  });
});
