import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startWharf, type TestServer } from "../helpers/server.js";
import { queryMetadata } from "../helpers/backends.js";
import {
  allPages,
  api,
  apiOk,
  pushImage,
  pushShaped,
  type ArtifactDetail,
  type SearchResult,
} from "./support.js";
import { undoLifecycleMigrations } from "../helpers/downgrade.js";

/** Puts a data directory back to what the code before facts left: no facts tables, migration not run. */
async function downgrade(dataDir: string): Promise<void> {
  // Later migrations go too: that code had none of them.
  await undoLifecycleMigrations(dataDir);
  for (const table of ["artifacts", "search_terms", "index_marks"]) {
    await queryMetadata(dataDir, `DROP TABLE IF EXISTS ${table}`);
  }
  // 0009_trust (its counter goes with change_counters below).
  for (const table of ["signature_keys", "signatures", "trust_policies", "trust_keys"]) {
    await queryMetadata(dataDir, `DROP TABLE IF EXISTS ${table}`);
  }
  // 0008_tag_versions.
  await queryMetadata(dataDir, "ALTER TABLE repositories DROP COLUMN tags_version");
  // 0007_immutable_tags (its counter goes with change_counters below).
  await queryMetadata(dataDir, "DROP TABLE IF EXISTS immutable_rules");
  // 0006_shared_auth and 0005_shared_uploads, undone (the latter's index, then its columns).
  for (const table of ["token_signing_keys", "login_attempts", "change_counters"]) {
    await queryMetadata(dataDir, `DROP TABLE IF EXISTS ${table}`);
  }
  await queryMetadata(dataDir, "DROP INDEX IF EXISTS uploads_updated");
  for (const column of ["size", "hash_state", "store_state", "lease_token", "lease_until"]) {
    await queryMetadata(dataDir, `ALTER TABLE uploads DROP COLUMN ${column}`);
  }
  await queryMetadata(dataDir, "DELETE FROM kysely_migration WHERE name >= ?", ["0003_discovery"]);
}

describe("discovery: facts for artifacts stored before facts existed", { timeout: 300_000 }, () => {
  let wharf: TestServer | undefined;
  let dataDir: string;

  after(async () => {
    await wharf?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test("a start-up backfill gives every stored manifest its facts, in batches, while serving", async () => {
    dataDir = await mkdtemp(join(tmpdir(), "wharf-backfill-"));
    wharf = await startWharf({ dataDir });
    const count = 230; // more than two backfill batches
    for (let i = 0; i < count; i++) {
      await pushImage(wharf.url, `old/app${String(i).padStart(3, "0")}`, "v1", {
        "org.opencontainers.image.title": `Legacy app ${i}`,
      });
    }
    const image = await pushImage(wharf.url, "old/signed", "1.0");
    await pushShaped(wharf.url, "old/signed", `sha256-${image.digest.slice(7)}.sig`, {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", size: 0 },
      layers: [{ mediaType: "application/vnd.dev.cosign.simplesigning.v1+json", size: 250 }],
    });
    const chart = await pushShaped(
      wharf.url,
      "old/chart",
      "2.0.0",
      {
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.cncf.helm.config.v1+json", size: 0 },
        layers: [{ mediaType: "application/vnd.cncf.helm.chart.content.v1.tar+gzip", size: 300 }],
      },
      { name: "legacy", version: "2.0.0", appVersion: "9.9", apiVersion: "v2" },
    );
    await wharf.stop({ keepData: true });
    await downgrade(dataDir);

    wharf = await startWharf({ dataDir });
    // Serving starts at once; the backfill catches up in the background (bounded polling, no timing).
    let found: SearchResult[] = [];
    for (let attempt = 0; attempt < 200 && found.length < count + 1; attempt++) {
      found = (await allPages<SearchResult>(wharf.url, "/api/v1/search?q=legacy&n=1000", "results")).items;
      if (found.length < count + 1) await sleep(50);
    }
    assert.equal(found.filter((r) => r.repository.startsWith("old/app")).length, count);
    assert.ok(found.some((r) => r.repository === "old/chart"));

    const chartDetail = (
      await apiOk<ArtifactDetail>(wharf.url, `/api/v1/artifacts/old/chart@${chart.digest}`)
    ).body;
    assert.equal(chartDetail.kind.id, "helm-chart");
    assert.equal(chartDetail.facts.chart?.appVersion, "9.9");
    // The signature is found by its tag and listed under its image.
    const listing = await api<{
      artifacts: { digest: string; accessories: { kinds: Record<string, number> } }[];
    }>(wharf.url, "/api/v1/repositories/old/signed/artifacts");
    assert.deepEqual(
      listing.body.artifacts.map((a) => [a.digest, a.accessories.kinds]),
      [[image.digest, { "cosign-signature": 1 }]],
    );
    // Tags were indexed too.
    const byTag = (await apiOk<{ results: SearchResult[] }>(wharf.url, "/api/v1/search?q=2.0.0")).body;
    assert.deepEqual(
      byTag.results.map((r) => r.repository),
      ["old/chart"],
    );
  });
});
