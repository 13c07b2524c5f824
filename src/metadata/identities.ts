import type { Kysely, Selectable } from "kysely";
import type { Database, RobotsTable, UsersTable } from "./schema.js";
import { now } from "./time.js";

type Conn = Kysely<Database>;
export type UserRow = Selectable<UsersTable>;
export type RobotRow = Selectable<RobotsTable>;

export async function findUser(db: Conn, name: string): Promise<UserRow | undefined> {
  return db.selectFrom("users").selectAll().where("name", "=", name).executeTakeFirst();
}

export async function findRobot(db: Conn, name: string): Promise<RobotRow | undefined> {
  return db.selectFrom("robots").selectAll().where("name", "=", name).executeTakeFirst();
}

export async function anyUserExists(db: Conn): Promise<boolean> {
  return (await db.selectFrom("users").select("name").limit(1).executeTakeFirst()) !== undefined;
}

export async function listUsers(db: Conn): Promise<UserRow[]> {
  return db.selectFrom("users").selectAll().orderBy("name").execute();
}

export async function listRobots(db: Conn): Promise<RobotRow[]> {
  return db.selectFrom("robots").selectAll().orderBy("name").execute();
}

/** Users and robots share one namespace: a robot logs in with its name as the username. */
export async function nameTaken(db: Conn, name: string): Promise<boolean> {
  return (await findUser(db, name)) !== undefined || (await findRobot(db, name)) !== undefined;
}

export async function insertUser(
  db: Conn,
  name: string,
  passwordHash: string,
  admin: boolean,
): Promise<void> {
  const at = now();
  await db
    .insertInto("users")
    .values({
      name,
      password_hash: passwordHash,
      admin: admin ? 1 : 0,
      version: 1,
      created_at: at,
      updated_at: at,
    })
    .execute();
}

export async function updatePassword(db: Conn, name: string, passwordHash: string): Promise<boolean> {
  const result = await db
    .updateTable("users")
    .set((eb) => ({ password_hash: passwordHash, version: eb("version", "+", 1), updated_at: now() }))
    .where("name", "=", name)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/**
 * Deletes a user unless that would leave no administrator, in one conditional statement: two
 * requests removing each other cannot both see "another admin remains". (SQLite runs each statement
 * atomically; on PostgreSQL, run it after bumpAuthGeneration in the same transaction, whose row lock
 * serialises account changes.)
 */
export async function deleteUserKeepingAnAdmin(
  db: Conn,
  name: string,
): Promise<"deleted" | "not_found" | "last_admin"> {
  const result = await db
    .deleteFrom("users")
    .where("name", "=", name)
    .where((eb) =>
      eb.or([
        eb("admin", "=", 0),
        eb(
          eb
            .selectFrom("users")
            .select((s) => s.fn.countAll<number>().as("n"))
            .where("admin", "=", 1),
          ">",
          1,
        ),
      ]),
    )
    .executeTakeFirst();
  if (result.numDeletedRows > 0n) return "deleted";
  return (await findUser(db, name)) ? "last_admin" : "not_found";
}

export async function insertRobot(db: Conn, robot: RobotRow): Promise<void> {
  await db.insertInto("robots").values(robot).execute();
}

export async function revokeRobot(db: Conn, name: string): Promise<boolean> {
  const result = await db
    .updateTable("robots")
    .set({ revoked_at: now() })
    .where("name", "=", name)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function touchRobot(db: Conn, name: string, at: string): Promise<void> {
  await db.updateTable("robots").set({ last_used_at: at }).where("name", "=", name).execute();
}
