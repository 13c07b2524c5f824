import type { Logger } from "pino";
import type { Db } from "../../metadata/database.js";
import type { BlobStore } from "../../storage/blob-store.js";
import { COSIGN_TAG } from "../../oci/kinds/index.js";
import {
  identifySignature,
  keyFingerprint,
  MAX_SIGNATURES,
  parseTrustedKey,
  verifySignatureArtifact,
  type SignatureArtifact,
  type SignatureFormat,
  type TrustedKey,
} from "../../oci/signatures/index.js";
import * as signatures from "../../metadata/signatures.js";
import { findManifest, manifestSizes } from "../../metadata/manifests.js";
import { lockTags } from "../../metadata/tags.js";
import { isTrustKeyRegistered } from "../../metadata/trust-keys.js";
import { now } from "../../metadata/time.js";
import type { AuditLog } from "../audit.js";
import type { TrustState } from "./state.js";
import type { TrustKeyRecord } from "./types.js";
import { SignatureLayers, UnreadableLayerError } from "./signature-layers.js";

/** The actor verifications outside a push (re-checks, the backfill) are audited as. */
const SYSTEM_ACTOR = "system";
/** Stored signatures re-checked per page when a key is added. */
const RECHECK_BATCH = 500;
/** Unrecorded signature manifests (with their content, up to 4 MiB each) read per backfill page. */
const BACKFILL_BATCH = 50;
/** Signer names and problem text kept in an audit event's detail. */
const MAX_AUDITED_SIGNERS = 16;
const MAX_PROBLEM_LENGTH = 300;

/** A key as checks use it: parsed, with the fingerprint it is registered under. */
interface CheckKey {
  trusted: TrustedKey;
  fingerprint: string;
}

interface LayerResult {
  layer: number;
  subject: string;
  signers: { name: string; fingerprint: string }[];
  problem?: string;
  /** When the signature stops counting, if it says. */
  expiresAt?: string | undefined;
}

/** A signature manifest checked before its write, recorded in the write's transaction. */
export interface PendingSignatures {
  artifact: SignatureArtifact;
  layers: SignatureLayers;
  /** One per signature (a `.sig` image's layer), in layer order. */
  results: LayerResult[];
  /** The keys (name and fingerprint) it was checked against. */
  checkedWith: Set<string>;
}

/** What a signature manifest's check found, for the audit log. */
export interface SignatureOutcome {
  format: SignatureFormat;
  /** The digest signed (the first signature's, for a `.sig` image seen without its tag). */
  subject: string;
  signatures: number;
  /** Trusted keys that verified at least one of its signatures. */
  signers: string[];
  /** Why not, when no key verified any. */
  problem?: string;
}

const keyId = (name: string, fingerprint: string) => `${name}\0${fingerprint}`;

/**
 * Verifies signatures when they are stored and keeps the record of which trusted keys signed what: at
 * push (checked before the manifest's transaction, recorded in it, so a signature manifest is never
 * stored without its record but by a crash, which the start-up backfill covers), when a key is added
 * (every stored signature re-checked against that key only), and at start for signature manifests
 * stored before this existed. A failed verification never fails the push: the signature is stored like
 * any artifact and signs nothing.
 */
export class SignatureRecorder {
  private audit: AuditLog | undefined;
  private stopping = false;
  private backfilling: Promise<void> | undefined;
  /** Re-checks running now (stop waits for them to notice). */
  private readonly rechecks = new Set<Promise<void>>();

  constructor(
    private readonly db: Db,
    private readonly store: BlobStore,
    private readonly trust: TrustState,
    private readonly log: Logger,
  ) {
    trust.onKeyAdded((key) => this.recheck(key));
  }

  auditWith(audit: AuditLog): void {
    this.audit = audit;
  }

  /**
   * Before a manifest write: whether it holds signatures and, if so, which trusted keys verified each.
   * Undefined when it is no signature, or when it could not be checked (then nothing is recorded and
   * the next start's backfill checks it). Never throws.
   */
  async check(
    repository: string,
    digest: string,
    content: Buffer,
    tags: readonly string[],
  ): Promise<PendingSignatures | undefined> {
    let artifact: SignatureArtifact | undefined;
    try {
      const manifest: unknown = JSON.parse(content.toString("utf8"));
      artifact = identifySignature(
        manifest,
        tags.find((t) => COSIGN_TAG.test(t) && t.endsWith(".sig")),
      );
    } catch (err) {
      this.log.warn({ err, repository, digest }, "manifest not examined for signatures");
      return undefined;
    }
    if (!artifact) return undefined;
    // What is recorded describes the manifest's content: a `.sig` image's subject is what its payloads
    // sign, not the tag it was pushed under (anyone may push the same bytes under another `.sig` tag).
    if (artifact.format === "cosign-legacy") artifact = { ...artifact, subject: "" };
    try {
      const pending: PendingSignatures = {
        artifact,
        layers: new SignatureLayers(this.store),
        results: [],
        checkedWith: new Set(),
      };
      await this.verify(pending, await this.activeKeys());
      return pending;
    } catch (err) {
      this.log.error({ err, repository, digest }, "signatures not verified; the next start checks them");
      await this.auditOutcome(repository, digest, {
        format: artifact.format,
        subject: artifact.subject,
        signatures: Math.min(artifact.layers.length, MAX_SIGNATURES),
        signers: [],
        problem: `not checked (checked again at the next start): ${err instanceof Error ? err.message : String(err)}`,
      }).catch((auditErr: unknown) => this.log.error({ err: auditErr }, "audit of a signature check failed"));
      return undefined;
    }
  }

  /** In the manifest write's transaction: the check's result is added to what was recorded before. */
  async record(trx: Db, repository: string, digest: string, pending: PendingSignatures): Promise<void> {
    await signatures.recordSignatures(
      trx,
      repository,
      digest,
      pending.results.map((r) => ({ layer: r.layer, subject: r.subject, format: pending.artifact.format })),
      pending.results.flatMap((r) =>
        r.signers.map((s) => ({
          layer: r.layer,
          subject: r.subject,
          keyName: s.name,
          fingerprint: s.fingerprint,
          expiresAt: r.expiresAt,
        })),
      ),
      now(),
    );
  }

  /**
   * After the write committed: checks against keys registered since the check (their re-check may
   * have looked before this signature was stored: whichever came second sees the other), then says
   * what was found. Never throws.
   */
  async recorded(repository: string, digest: string, pending: PendingSignatures): Promise<SignatureOutcome> {
    try {
      const added = (await signatures.registeredKeys(this.db))
        .filter((k) => !pending.checkedWith.has(keyId(k.name, k.fingerprint)))
        .flatMap((k) => {
          const parsed = this.parseKey(k.name, k.certificate ?? k.publicKey, k.fingerprint);
          return parsed ? [parsed] : [];
        });
      if (added.length > 0) {
        const before = new Map(pending.results.map((r) => [r.layer, r.signers.length]));
        await this.verify(pending, added);
        const at = now();
        for (const r of pending.results) {
          for (const s of r.signers.slice(before.get(r.layer) ?? 0)) {
            await signatures.addVerification(
              this.db,
              repository,
              digest,
              {
                layer: r.layer,
                subject: r.subject,
                keyName: s.name,
                fingerprint: s.fingerprint,
                expiresAt: r.expiresAt,
              },
              at,
            );
          }
        }
      }
    } catch (err) {
      this.log.error({ err, repository, digest }, "signatures not checked against newly added keys");
    }
    return outcomeOf(pending);
  }

  /** Records a verification outcome; pushes are audited by the caller, with the pusher as actor. */
  private async auditOutcome(repository: string, digest: string, outcome: SignatureOutcome): Promise<void> {
    await this.audit?.record({
      actor: SYSTEM_ACTOR,
      client: "wharf",
      ...signatureAuditEvent(repository, digest, outcome),
    });
  }

  /** Checks each signature (up to MAX_SIGNATURES) against `keys`, adding to what earlier checks found. */
  private async verify(pending: PendingSignatures, keys: readonly CheckKey[]): Promise<void> {
    const { artifact } = pending;
    const layers = artifact.layers.slice(0, MAX_SIGNATURES);
    for (let i = 0; i < layers.length; i++) {
      const result = (pending.results[i] ??= { layer: i, subject: artifact.subject, signers: [] });
      const expected = result.subject || undefined;
      try {
        // One layer at a time: each verdict belongs to one signature (one row), whatever the format.
        const [verdict] = await verifySignatureArtifact(
          { ...artifact, layers: [layers[i]!] },
          pending.layers.read,
          expected,
          keys.map((k) => k.trusted),
        );
        // A store that could not be read decides nothing: not checked (no record), checked again later.
        pending.layers.throwIfUnreadable();
        if (!verdict) {
          result.problem ??= "no signature found in this layer";
          continue;
        }
        if (!result.subject) result.subject = verdict.subject;
        if (verdict.expiresAt !== undefined) result.expiresAt = verdict.expiresAt;
        for (const name of verdict.signers) {
          const key = keys.find((k) => k.trusted.name === name);
          if (key && verdict.subject === result.subject && result.subject !== "") {
            result.signers.push({ name, fingerprint: key.fingerprint });
          }
        }
        if (result.signers.length > 0) delete result.problem;
        else if (verdict.problem) result.problem = verdict.problem;
      } catch (err) {
        if (err instanceof UnreadableLayerError) throw err;
        result.problem = `could not be checked: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
    for (const k of keys) pending.checkedWith.add(keyId(k.trusted.name, k.fingerprint));
  }

  private async activeKeys(): Promise<CheckKey[]> {
    const active = await this.trust.activeKeys();
    return active.keys.map((trusted) => ({
      trusted,
      fingerprint: active.byName.get(trusted.name)?.fingerprint ?? keyFingerprint(trusted.key),
    }));
  }

  private parseKey(name: string, pem: string, fingerprint: string): CheckKey | undefined {
    try {
      return { trusted: parseTrustedKey(name, pem), fingerprint };
    } catch (err) {
      this.log.warn(
        { err, key: name },
        "trusted key could not be parsed; signatures are not checked with it",
      );
      return undefined;
    }
  }

  /**
   * A key was added (committed): every stored signature is checked against it alone, a page of
   * RECHECK_BATCH at a time in primary-key order (memory stays flat however many there are), and its
   * verifications recorded. Also removes verifications by this key (name and fingerprint) that it does
   * not confirm. Stops when the key is no longer registered with that fingerprint (removed, or replaced
   * by another key of that name: what it would write would count for nothing) and throws when the
   * server stops first, so an unfinished walk is never marked done.
   */
  private async recheck(record: TrustKeyRecord): Promise<void> {
    const run = this.walk(record);
    this.rechecks.add(run);
    try {
      await run;
    } finally {
      this.rechecks.delete(run);
    }
  }

  private async walk(record: TrustKeyRecord): Promise<void> {
    const key = this.parseKey(record.name, record.certificate ?? record.publicKey, record.fingerprint);
    if (!key) return;
    let after: { repository: string; digest: string; layer: number } | undefined;
    let checked = 0;
    let verified = 0;
    let failed = 0;
    let finished = false;
    let removed = false;
    while (!this.stopping) {
      if (!(await isTrustKeyRegistered(this.db, record.name, record.fingerprint))) {
        removed = true;
        break;
      }
      const page = await signatures.signaturesAfter(this.db, after, RECHECK_BATCH);
      for (let start = 0; start < page.length && !this.stopping;) {
        const first = page[start]!;
        let end = start + 1;
        while (
          end < page.length &&
          page[end]!.repository === first.repository &&
          page[end]!.digest === first.digest
        )
          end++;
        const found = await this.recheckManifest(first.repository, first.digest, page.slice(start, end), key);
        checked += end - start;
        if (found === undefined) failed++;
        else verified += found;
        start = end;
      }
      const last = page.at(-1);
      if (!last || page.length < RECHECK_BATCH) {
        finished = !this.stopping;
        break;
      }
      after = { repository: last.repository, digest: last.digest, layer: last.layer };
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.log.info(
      { key: record.name, checked, verified, finished, removed },
      "stored signatures re-checked against an added key",
    );
    await this.audit?.record({
      actor: SYSTEM_ACTOR,
      client: "wharf",
      action: "signature.recheck",
      target: record.name,
      outcome: finished && failed === 0 ? "ok" : "failed",
      detail: {
        key: record.name,
        fingerprint: record.fingerprint,
        checked,
        verified,
        failed,
        ...(finished ? {} : { interrupted: removed ? "the key was removed" : "the server stopped" }),
      },
    });
    if (removed) return;
    // The key stays pending (TrustState retries it on the next trust change or start).
    if (!finished) throw new Error("the re-check was interrupted by the server stopping");
    if (failed > 0) throw new Error(`${failed} signature manifest(s) could not be re-checked`);
  }

  /** Re-checks one manifest's recorded signatures against one key: how many it verified (undefined: failed). */
  private async recheckManifest(
    repository: string,
    digest: string,
    rows: readonly signatures.StoredSignature[],
    key: CheckKey,
  ): Promise<number | undefined> {
    try {
      const manifest = await findManifest(this.db, repository, digest);
      if (!manifest) return 0;
      const artifact = identifySignature(JSON.parse(manifest.content.toString("utf8")));
      if (!artifact) return 0;
      const layers = new SignatureLayers(this.store);
      let verified = 0;
      const at = now();
      for (const row of rows) {
        const layer = artifact.layers[row.layer];
        let signed = false;
        let expiresAt: string | undefined;
        if (layer && row.subject !== "") {
          const [verdict] = await verifySignatureArtifact(
            { ...artifact, subject: row.subject, layers: [layer] },
            layers.read,
            row.subject,
            [key.trusted],
          );
          // A read failure proves nothing: keep what was recorded, count the manifest as failed.
          layers.throwIfUnreadable();
          signed = !!verdict && verdict.subject === row.subject && verdict.signers.includes(key.trusted.name);
          expiresAt = verdict?.expiresAt;
        }
        const verifiedBy = {
          layer: row.layer,
          subject: row.subject,
          keyName: key.trusted.name,
          fingerprint: key.fingerprint,
          expiresAt,
        };
        if (signed) {
          await signatures.addVerification(this.db, repository, digest, verifiedBy, at);
          verified++;
        } else {
          await signatures.removeVerification(this.db, repository, digest, row.layer, {
            name: key.trusted.name,
            fingerprint: key.fingerprint,
          });
        }
      }
      // Only what the key verified: the signature.recheck event counts the rest (one per stored signature
      // and key would flood the log).
      if (verified > 0) {
        await this.auditOutcome(repository, digest, {
          format: artifact.format,
          subject: rows[0]!.subject,
          signatures: rows.length,
          signers: [key.trusted.name],
        });
      }
      return verified;
    } catch (err) {
      this.log.error({ err, repository, digest, key: key.trusted.name }, "re-checking a signature failed");
      return undefined;
    }
  }

  /** Starts the backfill in the background (every node runs it: it is idempotent). */
  start(): void {
    this.backfilling = this.backfill().catch((err: unknown) => {
      this.log.error({ err }, "signatures backfill failed; it resumes at the next start");
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.backfilling;
    await Promise.allSettled([...this.rechecks]);
  }

  /**
   * Records the signature manifests that have no record: stored before signatures were verified, or
   * by a push that stopped between its write and its record. Each is recorded in a transaction that
   * holds the repository's tag lock (as a delete does) and finds the manifest still there, so a
   * signature deleted meanwhile leaves no record that would still sign its subject.
   */
  private async backfill(): Promise<void> {
    let after: { repository: string; digest: string } | undefined;
    let done = 0;
    while (!this.stopping) {
      const page = await signatures.unrecordedSignatures(this.db, after, BACKFILL_BATCH);
      for (const m of page) {
        if (this.stopping) break;
        const tag = m.tag && COSIGN_TAG.test(m.tag) ? [m.tag] : [];
        const pending = await this.check(m.repository, m.digest, m.content, tag);
        if (!pending) continue;
        const stored = await this.db.transaction().execute(async (trx) => {
          await lockTags(trx, m.repository);
          const present = await manifestSizes(trx, m.repository, [m.digest]);
          if (!present.has(m.digest)) return false;
          await this.record(trx, m.repository, m.digest, pending);
          return true;
        });
        if (!stored) continue;
        const outcome = await this.recorded(m.repository, m.digest, pending);
        // Failed verifications too: every decision is audited (one event per manifest, bounded detail).
        await this.auditOutcome(m.repository, m.digest, outcome);
        done++;
      }
      const last = page.at(-1);
      if (!last || page.length < BACKFILL_BATCH) break;
      after = { repository: last.repository, digest: last.digest };
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (done > 0) this.log.info({ manifests: done }, "backfilled signature verifications");
  }
}

function outcomeOf(pending: PendingSignatures): SignatureOutcome {
  const signers = [...new Set(pending.results.flatMap((r) => r.signers.map((s) => s.name)))];
  const problem = pending.results.find((r) => r.problem)?.problem;
  return {
    format: pending.artifact.format,
    subject: pending.artifact.subject || (pending.results[0]?.subject ?? ""),
    signatures: pending.results.length,
    signers,
    ...(signers.length === 0 ? { problem: problem ?? "no signature in it" } : {}),
  };
}

/** The `signature.verify` audit event of an outcome: bounded detail, never key material. */
export function signatureAuditEvent(repository: string, digest: string, outcome: SignatureOutcome) {
  return {
    action: "signature.verify",
    repository,
    target: digest,
    outcome: outcome.signers.length > 0 ? ("ok" as const) : ("failed" as const),
    detail: {
      format: outcome.format,
      subject: outcome.subject,
      signatures: outcome.signatures,
      signers: outcome.signers.slice(0, MAX_AUDITED_SIGNERS),
      ...(outcome.problem ? { problem: outcome.problem.slice(0, MAX_PROBLEM_LENGTH) } : {}),
    },
  };
}
