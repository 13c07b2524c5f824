/**
 * The benchmark harness measures what its rows claim: memory of a whole `wharf serve --workers 2`
 * (the supervisor and both workers, not just the pid it started), and only the targets asked for.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { processTree, readRss, RssSampler } from "../../bench/lib/rss.js";
import { parseTargets, TARGET_NAMES } from "../../bench/lib/targets.js";
import { startWharf, type TestServer } from "../helpers/server.js";

describe("bench RSS over a process tree", () => {
  let server: TestServer;

  before(async () => {
    server = await startWharf({ args: ["--workers", "2"], backend: {} });
  });

  after(async () => {
    await server?.stop();
  });

  test("finds the supervisor and both workers, and adds their memory up", async () => {
    const supervisor = server.process.pid ?? 0;
    const tree = processTree([supervisor]);
    assert.equal(tree.length, 3, `supervisor and two workers, got ${tree.join(", ")}`);
    assert.ok(tree.includes(supervisor));
    // The server answers, so its workers are up and resident.
    await (await fetch(`${server.url}/v2/`)).arrayBuffer();
    const peak = new RssSampler([supervisor]).stop();
    const sizes = tree.map(readRss);
    assert.ok(
      sizes.every((s) => s > 0),
      `every process resident: ${sizes.join(", ")}`,
    );
    assert.equal(peak.processes, 3);
    assert.ok(peak.total > peak.perProcess, `total ${peak.total} above one process ${peak.perProcess}`);
    assert.ok(peak.perProcess >= Math.max(...sizes) * 0.5, "the biggest process is the per-process peak");
    assert.ok(peak.total > readRss(supervisor), "more than the supervisor alone");
  });
});

describe("bench --targets", () => {
  test("every target by default, in the table's order", () => {
    assert.deepEqual(parseTargets(undefined), [...TARGET_NAMES]);
  });

  test("a comma-separated list picks those, in the table's order", () => {
    assert.deepEqual(parseTargets(["static,embedded", "pg-s3-2n"]), ["embedded", "pg-s3-2n", "static"]);
  });

  test("an unknown name is refused with the list of names", () => {
    assert.throws(() => parseTargets(["embedded,wharf"]), /unknown target wharf; targets: embedded, /);
  });
});
