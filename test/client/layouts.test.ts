import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startWharf, type TestServer } from "../helpers/server.js";
import { cliHome, type CliHome } from "./cli.js";

describe("OCI layouts, reference forms and output checks", () => {
  let server: TestServer;
  let cli: CliHome;
  let layout: string;
  const digests: Record<string, string> = {};
  before(async () => {
    server = await startWharf();
    cli = await cliHome();
    layout = join(cli.dir, "airgap");
    for (const tag of ["v1", "v2"]) {
      const file = join(cli.dir, `notes-${tag}.txt`);
      await writeFile(file, `notes ${tag}\n`);
      const pushed = await cli.run(["push", `${server.host}/team/notes:${tag}`, file]);
      assert.equal(pushed.code, 0, pushed.stderr);
      digests[tag] = pushed.stdout.trim();
      const copied = await cli.run(["cp", `${server.host}/team/notes:${tag}`, `oci:${layout}:${tag}`]);
      assert.equal(copied.code, 0, copied.stderr);
    }
  });
  after(async () => {
    await server.stop();
    await cli.cleanup();
  });

  test("https:// and oci:// in front of a reference are accepted; http:// shows the accepted form", async () => {
    for (const scheme of ["https://", "oci://", "docker://"]) {
      const info = await cli.run([
        "info",
        `${scheme}${server.host}/team/notes:v1`,
        "--json",
        "--no-referrers",
      ]);
      assert.equal(info.code, 0, `${scheme}: ${info.stderr}`);
      assert.equal((JSON.parse(info.stdout) as { digest: string }).digest, digests.v1);
    }
    const ls = await cli.run(["ls", `https://${server.host}/team/notes`, "--json"]);
    assert.equal(ls.code, 0, ls.stderr);
    const http = await cli.run(["pull", `http://${server.host}/team/notes:v1`]);
    assert.equal(http.code, 2, http.stderr);
    assert.ok(http.stderr.includes(`(e.g. ${server.host}/team/notes:v1) and --plain-http`), http.stderr);
    const other = await cli.run(["info", `ftp://${server.host}/team/notes:v1`]);
    assert.equal(other.code, 2, other.stderr);
    assert.match(other.stderr, /write references as host\[:port\]\/repository/);
  });

  test("-o naming an existing file is bad input, and the file is left alone", async () => {
    const file = join(cli.dir, "not-a-dir.txt");
    await writeFile(file, "keep me\n");
    for (const args of [
      ["pull", `${server.host}/team/notes:v1`, "-o", file],
      ["pull", `oci:${layout}:v1`, "-o", file],
    ]) {
      const result = await cli.run(args);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /that is a file; name a directory/);
    }
    assert.equal(await readFile(file, "utf8"), "keep me\n");
  });

  test("with no registry at all: ls oci:DIR lists the tags, pull oci:DIR:TAG writes the files", async () => {
    await server.stop();
    const ls = await cli.run(["ls", `oci:${layout}`]);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(
      ls.stdout,
      new RegExp(`^v1\\s+${digests.v1}\\s+application/vnd\\.unknown\\.artifact\\.v1$`, "m"),
    );
    assert.match(ls.stdout, new RegExp(`^v2\\s+${digests.v2}\\s`, "m"));
    const json = await cli.run(["ls", `oci:${layout}`, "--json"]);
    assert.deepEqual(
      (JSON.parse(json.stdout) as { tags: { tag: string }[] }).tags.map((t) => t.tag),
      ["v1", "v2"],
    );

    const out = join(cli.dir, "from-layout");
    const pulled = await cli.run(["pull", `oci:${layout}:v2`, "-o", out]);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.equal(pulled.stdout.trim(), digests.v2);
    assert.equal(await readFile(join(out, "notes-v2.txt"), "utf8"), "notes v2\n");
    const byDigest = await cli.run(["pull", `oci:${layout}@${digests.v1}`, "-o", out]);
    assert.equal(byDigest.code, 0, byDigest.stderr);
    assert.equal(await readFile(join(out, "notes-v1.txt"), "utf8"), "notes v1\n");

    const missing = await cli.run(["pull", `oci:${layout}:v9`, "-o", out]);
    assert.equal(missing.code, 3, missing.stderr);
    const notLayout = await cli.run(["ls", `oci:${cli.dir}`]);
    assert.equal(notLayout.code, 3, notLayout.stderr);
    assert.match(notLayout.stderr, /not an OCI image layout/);
  });
});
