import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import SqliteDatabase from "better-sqlite3";

/** The lock itself: a SQLite database this process holds an exclusive lock on. */
const LOCK_FILE = "lock.db";
/** Who holds it (pid, host, since, URL): only to explain a refusal, never trusted for the decision. */
const HOLDER_FILE = "lock.json";

export interface LockHolder {
  pid: number;
  host: string;
  since: string;
  url?: string;
}

/** Another server holds the data directory. */
export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder | undefined,
  ) {
    super(`the data directory ${dataDir} is in use by ${describeHolder(holder)}`);
  }
}

export function describeHolder(holder: LockHolder | undefined): string {
  if (!holder) return "another wharf serve";
  const at = holder.url ? `, serving ${holder.url}` : "";
  return `wharf serve (pid ${holder.pid} on ${holder.host}, since ${holder.since}${at})`;
}

export interface DataDirLock {
  /** Records the URL the holder serves, so a refused bootstrap command can point to it. */
  setUrl(url: string): void;
  release(): void;
}

/**
 * Takes the data directory for this process, or throws DataDirInUseError. The lock is SQLite's
 * exclusive locking mode on a database of its own: an fcntl lock the kernel drops when the process
 * dies, however it dies (kill -9 included), so no stale lock ever blocks the next start and no pid
 * liveness guessing is needed (pids are reused; containers share them). The bootstrap
 * `wharf user add --data-dir` does not take it: it is a short SQLite transaction, safe beside a server.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const lockPath = join(dataDir, LOCK_FILE);
  const holderPath = join(dataDir, HOLDER_FILE);
  const db = new SqliteDatabase(lockPath, { timeout: 0 });
  try {
    db.pragma("locking_mode = EXCLUSIVE");
    db.pragma("journal_mode = MEMORY");
    // The first write takes the exclusive lock; in EXCLUSIVE mode it is kept until close.
    db.exec("BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS held (at TEXT); DELETE FROM held;");
    db.prepare("INSERT INTO held (at) VALUES (?)").run(new Date().toISOString());
    db.exec("COMMIT");
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code?.startsWith("SQLITE_BUSY")) {
      throw new DataDirInUseError(dataDir, readHolder(holderPath));
    }
    throw err;
  }
  const holder: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  const writeHolder = () => writeFileSync(holderPath, `${JSON.stringify(holder)}\n`, { mode: 0o600 });
  writeHolder();
  let released = false;
  return {
    setUrl(url) {
      holder.url = url;
      writeHolder();
    },
    release() {
      if (released) return;
      released = true;
      rmSync(holderPath, { force: true });
      db.close();
    },
  };
}

function readHolder(path: string): LockHolder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, "utf8")) as Partial<LockHolder>;
    if (typeof parsed.pid !== "number" || typeof parsed.host !== "string") return undefined;
    return {
      pid: parsed.pid,
      host: parsed.host,
      since: String(parsed.since),
      ...(typeof parsed.url === "string" ? { url: parsed.url } : {}),
    };
  } catch {
    return undefined;
  }
}
