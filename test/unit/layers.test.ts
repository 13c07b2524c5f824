/**
 * The layering the README describes, checked on the sources: the registry's domain knows nothing of
 * HTTP (no request bodies, sockets or framework), and the CLI's admin commands read the admin API's
 * wire types from src/api, not the server's modules (the --data-dir bootstrap in user.ts, which writes
 * the database directly, is the one command that is the server's code by design; `wharf serve` and
 * `wharf move`, the server and its data mover, and `wharf immutable --data-dir`'s direct rule changes
 * are in src/cli itself, not src/cli/commands).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import type { AuditRecord } from "../../src/registry/audit.js";
import type { AuditRecordDto } from "../../src/api/audit.js";
import type { VerificationState } from "../../src/registry/storage-verification.js";
import type { VerificationStateDto } from "../../src/api/storage-verification.js";
import type { ImmutableRule } from "../../src/registry/immutable/rules.js";
import type { ImmutableRuleDto } from "../../src/api/immutable.js";

// What the server sends must fit what the CLI reads (checked by `npm run typecheck`).
export const auditFits = (record: AuditRecord): AuditRecordDto => record;
export const verificationFits = (state: VerificationState): VerificationStateDto => state;
export const immutableRuleFits = (rule: ImmutableRule): ImmutableRuleDto => rule;

const src = resolve(import.meta.dirname, "..", "..", "src");

async function imports(dir: string): Promise<{ file: string; from: string }[]> {
  const found: { file: string; from: string }[] = [];
  for (const entry of await readdir(join(src, dir), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".ts")) continue;
    const path = join(entry.parentPath, entry.name);
    const text = await readFile(path, "utf8");
    for (const match of text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gms)) {
      found.push({ file: relative(src, path), from: match[1] ?? "" });
    }
  }
  return found;
}

describe("layers", () => {
  it("the registry's domain imports nothing about HTTP", async () => {
    const offending = (await imports("registry")).filter(({ from }) =>
      /(^|\/)http\/|^fastify|^node:(http|https|net)$/.test(from),
    );
    assert.deepEqual(offending, []);
  });

  it("the registry's domain has no module about request bodies or connections", async () => {
    const names = (await readdir(join(src, "registry"))).filter((n) => /request|received|connection/.test(n));
    assert.deepEqual(names, []);
  });

  it("the CLI's admin commands take the API's types from src/api, not the server's modules", async () => {
    const offending = (await imports("cli/commands")).filter(
      ({ file, from }) =>
        file !== join("cli", "commands", "admin", "user.ts") &&
        /\/(registry|http|metadata|storage)\//.test(from),
    );
    assert.deepEqual(offending, []);
  });
});
