/**
 * The verification's own bookkeeping, which no HTTP request can break on purpose (the audit hooks the
 * server passes never reject): a hook that fails must neither leave the verification "running" for ever
 * (refusing every later run) nor escape as an unhandled rejection, which would end the server.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { openSqlite, type Db } from "../../src/metadata/database.js";
import { FsBlobStore } from "../../src/storage/fs-blob-store.js";
import { KeyedLock } from "../../src/registry/keyed-lock.js";
import { StorageVerification } from "../../src/registry/storage-verification.js";

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
process.on("unhandledRejection", onUnhandled);

async function settled(verification: StorageVerification): Promise<string> {
  for (let i = 0; i < 200 && verification.status().state === "running"; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return verification.status().state;
}

describe("storage verification bookkeeping", () => {
  const dirs: string[] = [];
  const dbs: Db[] = [];
  after(async () => {
    process.off("unhandledRejection", onUnhandled);
    for (const db of dbs) await db.destroy();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("a finished hook that rejects still settles the run, and the next one starts", async () => {
    const dir = await mkdtemp(join(tmpdir(), "wharf-verify-unit-"));
    dirs.push(dir);
    const store = new FsBlobStore(join(dir, "storage"));
    await store.init();
    const db = await openSqlite(join(dir, "metadata.db"));
    dbs.push(db);
    const verification = new StorageVerification(db, store, new KeyedLock(), pino({ level: "silent" }));
    let finishedCalls = 0;
    const hooks = {
      quarantined: async () => undefined,
      finished: async () => {
        finishedCalls++;
        throw new Error("the audit log is unavailable");
      },
    };
    assert.equal(await verification.start("admin", hooks), true);
    assert.equal(await settled(verification), "done");
    assert.equal(await verification.start("admin", hooks), true, "a second run is refused");
    assert.equal(await settled(verification), "done");
    assert.equal(finishedCalls, 2);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(unhandled, [], "a rejection escaped");
  });
});
