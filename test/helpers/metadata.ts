/** Reads a server's metadata database directly (SQLite in its data directory, or its PostgreSQL). */
import { join } from "node:path";
import SqliteDatabase from "better-sqlite3";
import pg from "pg";

export interface MetadataOwner {
  dataDir: string;
  /** The server's backend environment (see backends.ts): WHARF_METADATA_URL when on PostgreSQL. */
  backend: Record<string, string>;
}

/** Runs one parameterless read-only query; the rows. */
export async function queryMetadata<T>(server: MetadataOwner, query: string): Promise<T[]> {
  const url = server.backend.WHARF_METADATA_URL;
  if (url) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query(query)).rows as T[];
    } finally {
      await client.end();
    }
  }
  const db = new SqliteDatabase(join(server.dataDir, "metadata.db"), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(query).all() as T[];
  } finally {
    db.close();
  }
}

/** The token signing key (a private JWK) every node of the server's database signs with. */
export async function storedSigningKey(server: MetadataOwner): Promise<string> {
  const rows = await queryMetadata<{ jwk: string }>(
    server,
    "select jwk from token_signing_keys where name = 'current'",
  );
  if (!rows[0]) throw new Error("no token signing key in the database");
  return rows[0].jwk;
}
