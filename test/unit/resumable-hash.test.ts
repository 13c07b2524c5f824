/**
 * The resumable SHA-256 on worker threads (the built module: its worker is a .js file in dist/), with
 * more threads than this machine would start, so that hashes pinned to different threads interleave.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";

process.env.WHARF_HASH_THREADS = "3";
// A computed specifier: the type comes from the source, the code from the build.
const built: string = "../../dist/registry/resumable-hash.js";
const { resumableSha256 } = (await import(built)) as typeof import("../../src/registry/resumable-hash.js");

test("concurrent hashes on several threads, saved and resumed half-way, equal node:crypto's", async () => {
  const inputs = Array.from({ length: 7 }, (_, i) => randomBytes(300_000 + i * 70_001));
  const digests = await Promise.all(
    inputs.map(async (data) => {
      const half = Math.floor(data.length / 2);
      const first = await resumableSha256();
      for (let at = 0; at < half; at += 65_536)
        await first.update(data.subarray(at, Math.min(at + 65_536, half)));
      const state = await first.save();
      first.close();
      // Resumed elsewhere (a new hash, possibly on another thread), as another node would.
      const second = await resumableSha256(state);
      for (let at = half; at < data.length; at += 65_536) {
        await second.update(data.subarray(at, Math.min(at + 65_536, data.length)));
      }
      return second.hex();
    }),
  );
  assert.deepEqual(
    digests,
    inputs.map((data) => createHash("sha256").update(data).digest("hex")),
  );
});
