/** Who is calling. Users and robots share one namespace of names. */
export type Identity =
  | { kind: "anonymous" }
  | { kind: "user"; name: string; admin: boolean; version: number; createdAt: string }
  | {
      kind: "robot";
      name: string;
      repositories: string[];
      actions: string[];
      expiresAt: string | null;
      createdAt: string;
    };

export const ANONYMOUS: Identity = { kind: "anonymous" };

/** The name the audit log and tokens use: the account name, or `anonymous`. */
export function actorName(identity: Identity): string {
  return identity.kind === "anonymous" ? "anonymous" : identity.name;
}
