import type { Db } from "../../metadata/database.js";
import type { ActiveKeys, NewTrustPolicy, TrustKeyRecord, TrustPolicy } from "./types.js";

/** Called after a key is added (committed): re-check stored signatures against it. */
export type KeyAddedListener = (key: TrustKeyRecord) => Promise<void>;

/**
 * Trusted keys and trust policies: stored in the database, cached per process and dropped when the
 * `trust` change counter moves (polled), so a change on any node is in force everywhere within a second.
 */
export class TrustState {
  private readonly keyAdded: KeyAddedListener[] = [];

  constructor(private readonly db: Db) {}

  async start(): Promise<void> {}

  stop(): void {}

  /** Registers a listener run (awaited) after each key addition; failures are the caller's to log. */
  onKeyAdded(listener: KeyAddedListener): void {
    this.keyAdded.push(listener);
  }

  /** The keys in force (cached). */
  async activeKeys(): Promise<ActiveKeys> {
    void this.db;
    throw new Error("not implemented: TrustState.activeKeys");
  }

  /** The policies whose repository glob matches `repository` (cached; usually none). */
  async policiesFor(_repository: string): Promise<TrustPolicy[]> {
    throw new Error("not implemented: TrustState.policiesFor");
  }

  async listKeys(): Promise<TrustKeyRecord[]> {
    throw new Error("not implemented: TrustState.listKeys");
  }

  /** Adds a key from a PEM public key or certificate; then runs the key-added listeners. */
  async addKey(_name: string, _pem: string, _createdBy: string): Promise<TrustKeyRecord> {
    throw new Error("not implemented: TrustState.addKey");
  }

  /** Removes a key and every verification it made (its signatures stop counting at once). */
  async removeKey(_name: string): Promise<TrustKeyRecord> {
    throw new Error("not implemented: TrustState.removeKey");
  }

  async listPolicies(): Promise<TrustPolicy[]> {
    throw new Error("not implemented: TrustState.listPolicies");
  }

  async addPolicy(_input: NewTrustPolicy, _createdBy: string): Promise<TrustPolicy> {
    throw new Error("not implemented: TrustState.addPolicy");
  }

  async removePolicy(_name: string): Promise<TrustPolicy> {
    throw new Error("not implemented: TrustState.removePolicy");
  }
}
