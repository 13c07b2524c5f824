import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { namesRegistry, parseReference } from "../../src/client/reference.js";
import { Resolver, checkKind, parseDefaultLocation } from "../../src/client/defaults/index.js";

describe("references: defaults with a namespace, @tag, oci://", () => {
  it("puts a short name below the default's namespace", () => {
    assert.deepEqual(parseReference("postgres:v14", { defaultRegistry: "oci://reg.example.com/library" }), {
      kind: "registry",
      registry: "reg.example.com",
      repository: "library/postgres",
      tag: "v14",
    });
    assert.deepEqual(parseReference("team/app", { defaultRegistry: "reg.example.com" }), {
      kind: "registry",
      registry: "reg.example.com",
      repository: "team/app",
    });
  });

  it("reads host/repo@v7 as tag v7, and keeps @ for digests", () => {
    assert.equal(parseReference("reg.example.com/app@v7").kind, "registry");
    assert.deepEqual(parseReference("oci://reg.example.com/app@v7"), {
      kind: "registry",
      registry: "reg.example.com",
      repository: "app",
      tag: "v7",
    });
    const digest = `sha256:${"a".repeat(64)}`;
    assert.equal((parseReference(`reg.example.com/app:v1@${digest}`) as { digest: string }).digest, digest);
    assert.throws(() => parseReference("reg.example.com/app:v1@v7"), /bad digest/);
    assert.throws(() => parseReference("reg.example.com/app@sha256:abc"), /bad digest/);
  });

  it("tells full references from short names", () => {
    assert.equal(namesRegistry("reg.example.com/app:v1"), true);
    assert.equal(namesRegistry("oci://localhost:5000/app"), true);
    assert.equal(namesRegistry("oci:./layout:v1"), true);
    assert.equal(namesRegistry("postgres:v14"), false);
    assert.equal(namesRegistry("team/app"), false);
    assert.equal(namesRegistry("oci://postgres:v14"), false);
  });

  it("validates default locations and kinds with the setting's name", () => {
    assert.deepEqual(parseDefaultLocation("oci://Reg.Example.com:5000/team/", "X"), {
      host: "reg.example.com:5000",
      namespace: "team",
    });
    assert.throws(
      () => parseDefaultLocation("https://reg.example.com", "WHARF_REGISTRY"),
      /WHARF_REGISTRY: "https:\/\/reg\.example\.com" must be oci:\/\/host/,
    );
    assert.equal(checkKind("Chart"), "chart");
    assert.equal(checkKind("helm-chart"), "helm-chart");
    assert.throws(() => checkKind("gizmo"), /--kind "gizmo" is not a kind/);
  });
});

describe("the resolver: per-kind default, then WHARF_REGISTRY, then the file's registry", () => {
  it("picks in that order and says through what", async () => {
    const dir = await mkdtemp(join(tmpdir(), "wharf-resolver-"));
    try {
      await mkdir(join(dir, "wharf"));
      await writeFile(
        join(dir, "wharf", "config.yaml"),
        "registry: oci://file.example/lib\nregistries:\n  chart: oci://charts.example/charts\n  opa-policy: oci://opa.example/p\n",
      );
      const path = join(dir, "wharf", "config.yaml");
      const fileOnly = new Resolver({ XDG_CONFIG_HOME: dir, HOME: "/nonexistent" });
      const chart = fileOnly.resolve("mychart:1.0.0", { kind: "helm-chart" });
      assert.equal(chart.through, `registries.chart in ${path}`);
      assert.equal((chart.ref as { repository: string }).repository, "charts/mychart");
      assert.equal(
        fileOnly.resolve("p:v1", { kind: "opa-policy" }).through,
        `registries.opa-policy in ${path}`,
      );
      // kyverno-policy has no entry of its own or of its family word: the general default serves it.
      assert.equal(fileOnly.resolve("k:v1", { kind: "kyverno-policy" }).through, `registry in ${path}`);
      const withEnv = new Resolver({
        XDG_CONFIG_HOME: dir,
        HOME: "/nonexistent",
        WHARF_REGISTRY: "env.example",
      });
      assert.equal(withEnv.resolve("app:v1").through, "WHARF_REGISTRY");
      assert.equal(withEnv.resolve("c:v1", { kind: "chart" }).through, `registries.chart in ${path}`);
      assert.equal(withEnv.resolve("env.example/app:v1").through, null);
      const none = new Resolver({ HOME: dir });
      assert.throws(() => none.resolve("app:v1"), /no default registry is set/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
