import { compileGlob, type Matcher } from "../../auth/glob.js";
import type { Db } from "../../metadata/database.js";
import { bumpTrustGeneration, trustGeneration } from "../../metadata/change-counters.js";
import {
  claimTrustKeyRecheck,
  countTrustKeys,
  deleteTrustKey,
  insertTrustKey,
  listTrustKeys,
  markTrustKeyRechecked,
  releaseTrustKeyRecheck,
  type TrustKeyRow,
} from "../../metadata/trust-keys.js";
import {
  countTrustPolicies,
  deleteTrustPolicy,
  insertTrustPolicy,
  listTrustPolicies,
  type TrustPolicyRow,
} from "../../metadata/trust-policies.js";
import { now } from "../../metadata/time.js";
import { KeyError, keyFingerprint, parseTrustedKey, publicKeyPem } from "../../oci/signatures/index.js";
import type { TrustedKey } from "../../oci/signatures/index.js";
import {
  checkKeyName,
  MAX_KEY_PEM_BYTES,
  MAX_TRUST_KEYS,
  MAX_TRUST_POLICIES,
  validatePolicy,
} from "./validate.js";
import {
  TrustError,
  type ActiveKeys,
  type NewTrustPolicy,
  type TrustKeyRecord,
  type TrustMode,
  type TrustPolicy,
} from "./types.js";

/**
 * Called after a key is added (committed): re-check stored signatures against it. If it throws, the key
 * is in force anyway and the re-check runs again on the next trust change or start (log the failure).
 */
export type KeyAddedListener = (key: TrustKeyRecord) => Promise<void>;

/** How often the trust change counter is read: a change on any node is in force within this. */
const CHANGE_POLL_MS = 250;
/** Without the poller (a registry not started, the CLI's --data-dir), cached state lives this long. */
const UNWATCHED_CACHE_MS = 1000;
/**
 * A node re-checking stored signatures against an added key holds a lease on it in the database (renewed
 * while it walks), so one node does the walk; a lease left by a node that died lapses, and another takes it.
 */
const RECHECK_LEASE_MS = 60_000;
const RECHECK_RENEW_MS = RECHECK_LEASE_MS / 3;
/** While another node holds a pending key's lease, this node looks again this often (it may die). */
const PENDING_RETRY_MS = 5000;

interface Snapshot {
  keys: ActiveKeys;
  policies: { policy: TrustPolicy; matches: Matcher }[];
  until: number;
}

/**
 * Trusted keys and trust policies: stored in the database, cached per process and dropped when the
 * `trust` change counter moves (polled off the request path), so a change on any node is in force
 * everywhere within a second and a warm lookup costs no query.
 */
export class TrustState {
  private readonly keyAdded: KeyAddedListener[] = [];
  private snapshot: Snapshot | undefined;
  private generation: number | undefined;
  private watcher: NodeJS.Timeout | undefined;
  /** Bumped on every invalidation: state loaded across one is used but not cached (it may be stale). */
  private epoch = 0;
  /** Keys (name and fingerprint) this process is re-checking signatures against now. */
  private readonly rechecking = new Set<string>();
  /** When a pending key was last left to another node's lease (then the poll looks again), or undefined. */
  private leftPendingAt: number | undefined;

  constructor(private readonly db: Db) {}

  async start(): Promise<void> {
    this.generation = await trustGeneration(this.db);
    this.watcher = setInterval(() => void this.poll(), CHANGE_POLL_MS);
    this.watcher.unref();
    void this.recheckPending();
  }

  stop(): void {
    clearInterval(this.watcher);
    this.watcher = undefined;
  }

  private async poll(): Promise<void> {
    try {
      const generation = await trustGeneration(this.db);
      if (generation === this.generation) {
        const left = this.leftPendingAt;
        if (left !== undefined && Date.now() - left >= PENDING_RETRY_MS) void this.recheckPending();
        return;
      }
      this.generation = generation;
    } catch {
      // Unknown whether anything changed: reload on the next lookup.
    }
    this.invalidate();
    void this.recheckPending();
  }

  /**
   * Runs the key-added listeners for keys added where none ran (the CLI's --data-dir, a node that died
   * mid-way, a re-check that failed). Each node that sees a key pending tries to claim it; only the one
   * whose compare-and-set wins walks the stored signatures.
   */
  private async recheckPending(): Promise<void> {
    if (this.keyAdded.length === 0) return;
    this.leftPendingAt = undefined;
    try {
      for (const row of await listTrustKeys(this.db)) {
        if (row.rechecked_at !== null || this.rechecking.has(keyId(row))) continue;
        if (!(await this.recheck(keyOf(row)))) this.leftPendingAt = Date.now();
      }
    } catch {
      // Tried again on the next change or start; the listeners log their own failures.
      this.leftPendingAt = Date.now();
    }
  }

  /**
   * Re-checks stored signatures against the key if this node holds (`held`: the lease it set) or wins its
   * lease; false when another node holds it. Throws when the re-check failed (the lease is given back).
   */
  private async recheck(key: TrustKeyRecord, held?: string): Promise<boolean> {
    const id = keyId(key);
    if (this.rechecking.has(id)) return true;
    let lease = held;
    if (lease === undefined) {
      const until = new Date(Date.now() + RECHECK_LEASE_MS).toISOString();
      if (!(await claimTrustKeyRecheck(this.db, key, until, now()))) return false;
      lease = until;
    }
    this.rechecking.add(id);
    // Renewed while the walk runs, so a long one is not taken over by another node.
    const renew = setInterval(() => {
      const until = new Date(Date.now() + RECHECK_LEASE_MS).toISOString();
      claimTrustKeyRecheck(this.db, key, until, now(), lease)
        .then((ok) => {
          if (ok) lease = until;
        })
        .catch(() => {
          // Renewed on the next tick; a lapsed lease only lets another node do the walk too.
        });
    }, RECHECK_RENEW_MS);
    renew.unref();
    try {
      for (const listener of this.keyAdded) await listener(key);
      clearInterval(renew);
      await markTrustKeyRechecked(this.db, key.name, key.fingerprint);
      return true;
    } catch (err) {
      clearInterval(renew);
      await releaseTrustKeyRecheck(this.db, key, lease).catch(() => undefined);
      this.leftPendingAt = Date.now();
      throw err;
    } finally {
      this.rechecking.delete(id);
    }
  }

  private invalidate(): void {
    this.epoch++;
    this.snapshot = undefined;
  }

  private async current(): Promise<Snapshot> {
    if (this.snapshot && Date.now() < this.snapshot.until) return this.snapshot;
    const epoch = this.epoch;
    const [keyRows, policyRows] = await Promise.all([listTrustKeys(this.db), listTrustPolicies(this.db)]);
    const records = keyRows.map(keyOf);
    const keys: TrustedKey[] = [];
    for (const row of keyRows) {
      try {
        keys.push(parseTrustedKey(row.name, row.certificate ?? row.public_key));
      } catch {
        // Checked when added; a row that no longer parses (edited by hand) trusts nothing.
      }
    }
    const snapshot: Snapshot = {
      keys: { keys, byName: new Map(records.map((r) => [r.name, r])) },
      policies: policyRows
        .map(policyOf)
        .map((policy) => ({ policy, matches: compileGlob(policy.repositories) })),
      until: this.watcher ? Infinity : Date.now() + UNWATCHED_CACHE_MS,
    };
    if (epoch === this.epoch) this.snapshot = snapshot;
    return snapshot;
  }

  /** Registers a listener run (awaited) after each key addition. */
  onKeyAdded(listener: KeyAddedListener): void {
    this.keyAdded.push(listener);
  }

  /** The keys in force (cached). */
  async activeKeys(): Promise<ActiveKeys> {
    return (await this.current()).keys;
  }

  /** Whether any key is registered (cached): with none, nothing is signed. */
  async hasKeys(): Promise<boolean> {
    return (await this.current()).keys.byName.size > 0;
  }

  /** The policies whose repository glob matches `repository` (cached; usually none), oldest first. */
  async policiesFor(repository: string): Promise<TrustPolicy[]> {
    const { policies } = await this.current();
    if (policies.length === 0) return [];
    return policies.filter((p) => p.matches(repository)).map((p) => p.policy);
  }

  async listKeys(): Promise<TrustKeyRecord[]> {
    return (await listTrustKeys(this.db)).map(keyOf);
  }

  /** Adds a key from a PEM public key or certificate, then re-checks stored signatures against it. */
  async addKey(name: string, pem: string, createdBy: string): Promise<TrustKeyRecord> {
    checkKeyName(name);
    if (Buffer.byteLength(pem) > MAX_KEY_PEM_BYTES) {
      throw new TrustError("invalid", `a key file is at most ${MAX_KEY_PEM_BYTES / 1024} KiB`);
    }
    let parsed: TrustedKey;
    try {
      parsed = parseTrustedKey(name, pem);
    } catch (err) {
      if (err instanceof KeyError) throw new TrustError("invalid", err.message);
      throw err;
    }
    const row: TrustKeyRow = {
      name,
      public_key: publicKeyPem(parsed.key),
      certificate: parsed.certificate ? parsed.certificate.toString() : null,
      fingerprint: keyFingerprint(parsed.key),
      rechecked_at: null,
      // This node re-checks it (claimed in the insert, so no other node's poll starts the walk as well).
      recheck_claimed_until:
        this.keyAdded.length > 0 ? new Date(Date.now() + RECHECK_LEASE_MS).toISOString() : null,
      created_by: createdBy,
      created_at: now(),
    };
    await this.db.transaction().execute(async (trx) => {
      await bumpTrustGeneration(trx);
      if ((await countTrustKeys(trx)) >= MAX_TRUST_KEYS) {
        throw new TrustError("conflict", `there are already ${MAX_TRUST_KEYS} keys; remove one first`);
      }
      const same = (await listTrustKeys(trx)).find((k) => k.fingerprint === row.fingerprint);
      if (same) throw new TrustError("conflict", `this key is registered already, as ${same.name}`);
      if (!(await insertTrustKey(trx, row))) {
        throw new TrustError("conflict", `a key named ${name} exists already`);
      }
    });
    this.invalidate();
    const record = keyOf(row);
    // Before answering, so that once `trust key add` returns, what the key signed counts.
    if (this.keyAdded.length > 0) {
      try {
        await this.recheck(record, row.recheck_claimed_until ?? undefined);
      } catch {
        // Still pending (rechecked_at unset): retried on the next trust change or start.
      }
    }
    return record;
  }

  /** Removes a key and every verification it made (its signatures stop counting at once). */
  async removeKey(name: string): Promise<TrustKeyRecord> {
    const removed = await this.db.transaction().execute(async (trx) => {
      await bumpTrustGeneration(trx);
      return deleteTrustKey(trx, name);
    });
    if (!removed) throw new TrustError("not_found", `no trusted key named ${name.slice(0, 100)}`);
    this.invalidate();
    return keyOf(removed);
  }

  async listPolicies(): Promise<TrustPolicy[]> {
    return (await listTrustPolicies(this.db)).map(policyOf);
  }

  /** Adds a policy; every key it names must be registered (a typo would otherwise refuse every pull). */
  async addPolicy(input: NewTrustPolicy, createdBy: string): Promise<TrustPolicy> {
    const checked = validatePolicy(input);
    const row: TrustPolicyRow = {
      name: checked.name,
      repositories: checked.repositories,
      keys: JSON.stringify(checked.keys),
      mode: checked.mode,
      created_by: createdBy,
      created_at: now(),
    };
    await this.db.transaction().execute(async (trx) => {
      await bumpTrustGeneration(trx);
      const known = new Set((await listTrustKeys(trx)).map((k) => k.name));
      const unknown = checked.keys.filter((k) => !known.has(k));
      if (unknown.length > 0) {
        throw new TrustError(
          "invalid",
          `no trusted key named ${unknown.join(", ")}: add it first (wharf trust key add NAME FILE)`,
        );
      }
      if ((await countTrustPolicies(trx)) >= MAX_TRUST_POLICIES) {
        throw new TrustError(
          "conflict",
          `there are already ${MAX_TRUST_POLICIES} policies; remove one first`,
        );
      }
      if (!(await insertTrustPolicy(trx, row))) {
        throw new TrustError("conflict", `a policy named ${row.name} exists already`);
      }
    });
    this.invalidate();
    return policyOf(row);
  }

  async removePolicy(name: string): Promise<TrustPolicy> {
    const removed = await this.db.transaction().execute(async (trx) => {
      await bumpTrustGeneration(trx);
      return deleteTrustPolicy(trx, name);
    });
    if (!removed) throw new TrustError("not_found", `no trust policy named ${name.slice(0, 100)}`);
    this.invalidate();
    return policyOf(removed);
  }
}

const keyId = (key: { name: string; fingerprint: string }) => `${key.name}\0${key.fingerprint}`;

function keyOf(row: TrustKeyRow): TrustKeyRecord {
  return {
    name: row.name,
    fingerprint: row.fingerprint,
    publicKey: row.public_key,
    certificate: row.certificate,
    createdBy: row.created_by,
    createdAt: row.created_at,
  };
}

function policyOf(row: TrustPolicyRow): TrustPolicy {
  return {
    name: row.name,
    repositories: row.repositories,
    keys: JSON.parse(row.keys) as string[],
    mode: row.mode as TrustMode,
    createdBy: row.created_by,
    createdAt: row.created_at,
  };
}
