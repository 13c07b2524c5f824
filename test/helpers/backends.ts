/**
 * The backends tests run a server on. `WHARF_TEST_BACKEND` picks them for a whole run: `embedded`
 * (SQLite + files in the data directory, the default), `postgres-s3` (a PostgreSQL cluster and the
 * S3-compatible server from ../shared/s3, both started on first use and shared by every test process),
 * or `postgres` (PostgreSQL with blobs in the data directory).
 * Each server gets a database and a key prefix of its own, so tests never see each other's data.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import pg from "pg";
import SqliteDatabase from "better-sqlite3";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";

export type TestBackend = "embedded" | "postgres" | "postgres-s3";
const BACKENDS: readonly string[] = ["embedded", "postgres", "postgres-s3"];

export function testBackend(): TestBackend {
  const value = process.env.WHARF_TEST_BACKEND ?? "embedded";
  if (!BACKENDS.includes(value)) {
    throw new Error(`WHARF_TEST_BACKEND must be one of ${BACKENDS.join(", ")}, not ${value}`);
  }
  return value as TestBackend;
}

const PG_BIN = "/usr/lib/postgresql/15/bin";
/** Fixed so that every test process finds the one cluster; override for a second checkout. */
const PG_PORT = Number(process.env.WHARF_TEST_PG_PORT ?? 55432);
const PG_DIR = process.env.WHARF_TEST_PG_DIR ?? "/tmp/wharf-test-pg";
const S3_SCRIPT = resolve(import.meta.dirname, "..", "..", "..", "shared", "s3", "start-s3.sh");
export const TEST_BUCKET = "wharf-test";

/** The superuser URL of the shared test cluster, starting it if needed. */
export function postgresAdminUrl(): string {
  const url = `postgres://postgres@127.0.0.1:${PG_PORT}/postgres`;
  if (isReady()) return url;
  withLock(`${PG_DIR}.lock`, () => {
    if (isReady()) return;
    if (!existsSync(join(PG_DIR, "PG_VERSION"))) {
      rmSync(PG_DIR, { recursive: true, force: true });
      mkdirSync(PG_DIR, { recursive: true });
      asPostgres(["chown", "postgres", PG_DIR], true);
      asPostgres([`${PG_BIN}/initdb`, "-D", PG_DIR, "-U", "postgres", "--auth=trust", "-E", "UTF8"]);
    }
    asPostgres([
      `${PG_BIN}/pg_ctl`,
      "-D",
      PG_DIR,
      "-l",
      join(PG_DIR, "server.log"),
      "-w",
      "-o",
      `-h 127.0.0.1 -p ${PG_PORT} -k ${PG_DIR} -c max_connections=400 -c fsync=off`,
      "start",
    ]);
  });
  return url;
}

/**
 * A new, empty database on the shared cluster; its URL. `icuLocale` gives it that locale's collation
 * as its default (the cluster's own is C.UTF-8, byte order), as a database created by hand often has.
 */
export async function createTestDatabase(options: { icuLocale?: string } = {}): Promise<string> {
  const admin = postgresAdminUrl();
  const name = `wharf_${randomBytes(6).toString("hex")}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    const locale = options.icuLocale
      ? ` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '${options.icuLocale.replace(/[^A-Za-z0-9-]/g, "")}'`
      : "";
    await client.query(`CREATE DATABASE ${name}${locale}`);
  } finally {
    await client.end();
  }
  return admin.replace(/\/postgres$/, `/${name}`);
}

export interface S3Settings {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

let s3Cache: S3Settings | undefined;

/** The shared S3-compatible server's settings, starting it (and creating the test bucket) if needed. */
export async function s3Settings(): Promise<S3Settings> {
  if (s3Cache) return s3Cache;
  if (!existsSync(S3_SCRIPT)) {
    throw new Error(
      `the S3 test server's script is not at ${S3_SCRIPT}: check out the project beside ../shared`,
    );
  }
  const out = withLock("/tmp/wharf-test-s3.lock", () =>
    execFileSync("bash", [S3_SCRIPT], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }),
  );
  const values = new Map(
    out
      .split("\n")
      .map((line) => /^([A-Z0-9_]+)=(.*)$/.exec(line.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1] ?? "", m[2] ?? ""]),
  );
  const settings = {
    endpoint: values.get("S3_ENDPOINT") ?? "http://127.0.0.1:9000",
    accessKeyId: values.get("AWS_ACCESS_KEY_ID") ?? "test:tester",
    secretAccessKey: values.get("AWS_SECRET_ACCESS_KEY") ?? "testing",
    region: values.get("AWS_REGION") ?? "us-east-1",
  };
  const client = testS3Client(settings);
  try {
    await client.send(new CreateBucketCommand({ Bucket: TEST_BUCKET }));
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name !== "BucketAlreadyOwnedByYou" && name !== "BucketAlreadyExists") throw err;
  } finally {
    client.destroy();
  }
  s3Cache = settings;
  return settings;
}

export function testS3Client(settings: S3Settings): S3Client {
  return new S3Client({
    endpoint: settings.endpoint,
    region: settings.region,
    forcePathStyle: true,
    credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

/**
 * The environment that puts a server on `backend` with a database and key prefix of its own (nothing
 * for the embedded backend, which lives in the data directory).
 */
export async function backendEnv(backend: TestBackend = testBackend()): Promise<Record<string, string>> {
  if (backend === "embedded") return {};
  const metadata = { WHARF_METADATA_DRIVER: "postgres", WHARF_METADATA_URL: await createTestDatabase() };
  if (backend === "postgres") return metadata;
  const s3 = await s3Settings();
  return {
    ...metadata,
    WHARF_STORAGE_DRIVER: "s3",
    WHARF_S3_BUCKET: TEST_BUCKET,
    WHARF_S3_PREFIX: `t-${randomBytes(6).toString("hex")}/`,
    WHARF_S3_ENDPOINT: s3.endpoint,
    WHARF_S3_REGION: s3.region,
    WHARF_S3_FORCE_PATH_STYLE: "true",
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
  };
}

const byDataDir = new Map<string, Promise<Record<string, string>>>();

/**
 * The backend of the registry whose data directory is `dataDir`: a data directory stands for one
 * registry, so a restart on it (or a CLI command given it) reaches the same database and prefix. An
 * explicit `backend` (a peer node's) is taken and remembered; otherwise a fresh one of the run's backend.
 */
export function backendOf(
  dataDir: string,
  backend?: Record<string, string>,
): Promise<Record<string, string>> {
  const key = resolve(dataDir);
  const known = byDataDir.get(key);
  if (known && !backend) return known;
  const chosen = backend ? Promise.resolve(backend) : backendEnv();
  byDataDir.set(key, chosen);
  return chosen;
}

/** Why a test cannot run on this run's backend (for `{ skip }`), or false when it can. */
export const embeddedOnly = (reason: string): string | false =>
  testBackend() === "embedded" ? false : `embedded backend only: ${reason}`;

/**
 * Why a test that reads or damages the filesystem blob store's files (blobs/, uploads/, a full disk)
 * cannot run on the S3 store, or false when blobs are files on this run's backend.
 */
export const filesystemOnly = (reason: string): string | false =>
  testBackend() === "postgres-s3" ? `filesystem blob store only: ${reason}` : false;

/** Runs one query on a server's PostgreSQL database (its backend env), returning the rows. */
export async function queryPostgres<T>(
  backend: Record<string, string>,
  text: string,
  values: unknown[] = [],
): Promise<T[]> {
  const url = backend.WHARF_METADATA_URL;
  if (!url) throw new Error("this server has no PostgreSQL database");
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}

/**
 * Runs one statement on the metadata database of the registry in `dataDir`, whichever backend it has
 * (beside or after the server): `?` placeholders on both (numbered for PostgreSQL here).
 */
export async function queryMetadata<T>(dataDir: string, text: string, values: unknown[] = []): Promise<T[]> {
  const backend = await backendOf(dataDir);
  if (backend.WHARF_METADATA_URL) {
    let n = 0;
    return queryPostgres<T>(
      backend,
      text.replace(/\?/g, () => `$${++n}`),
      values,
    );
  }
  const db = new SqliteDatabase(join(dataDir, "metadata.db"), { fileMustExist: true });
  try {
    const statement = db.prepare(text);
    if (statement.reader) return statement.all(...values) as T[];
    statement.run(...values);
    return [];
  } finally {
    db.close();
  }
}

function isReady(): boolean {
  return spawnSync(`${PG_BIN}/pg_isready`, ["-h", "127.0.0.1", "-p", String(PG_PORT)]).status === 0;
}

function asPostgres(command: string[], asRoot = false): void {
  const [file, ...args] = command as [string, ...string[]];
  const root = process.getuid?.() === 0;
  if (asRoot) {
    if (root) execFileSync(file, args, { stdio: "pipe" });
    return;
  }
  // PostgreSQL refuses to run as root; as any other user it runs as that user.
  if (root) execFileSync("runuser", ["-u", "postgres", "--", file, ...args], { stdio: "pipe" });
  else execFileSync(file, args, { stdio: "pipe" });
}

/** Runs `work` holding an exclusive lock on `path` (a directory: mkdir is atomic), across processes. */
function withLock<T>(path: string, work: () => T): T {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(path);
      break;
    } catch {
      // A holder that died leaves its lock: taken over once older than the deadline.
      if (Date.now() > deadline) rmSync(path, { recursive: true, force: true });
      else sleepSync(100);
    }
  }
  try {
    writeFileSync(join(path, "pid"), String(process.pid));
    return work();
  } finally {
    rmSync(path, { recursive: true, force: true });
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
