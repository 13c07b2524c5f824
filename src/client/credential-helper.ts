import { spawn } from "node:child_process";
import { AuthError } from "./errors.js";

export interface HelperCredentials {
  username: string;
  secret: string;
}

/**
 * Runs `docker-credential-<name> <action>` with `input` on stdin (the credential helper protocol that
 * docker, podman and helm share) and returns its stdout.
 */
async function runHelper(
  name: string,
  action: string,
  input: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; out: string }> {
  const program = `docker-credential-${name}`;
  return new Promise((resolve, reject) => {
    const child = spawn(program, [action], { stdio: ["pipe", "pipe", "pipe"], env });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.on("error", (err: NodeJS.ErrnoException) => {
      reject(
        err.code === "ENOENT"
          ? new AuthError(`credential helper ${program} is configured in the Docker config but not on PATH`)
          : err,
      );
    });
    child.on("close", (code) => resolve({ code: code ?? 1, out }));
    child.stdin.on("error", () => undefined);
    child.stdin.end(input);
  });
}

/** The stored credentials for `serverUrl`, or undefined when the helper has none. */
export async function helperGet(
  name: string,
  serverUrl: string,
  env: NodeJS.ProcessEnv,
): Promise<HelperCredentials | undefined> {
  const { code, out } = await runHelper(name, "get", serverUrl, env);
  if (code !== 0) {
    if (/not found/i.test(out)) return undefined;
    throw new AuthError(`docker-credential-${name} get failed: ${out.trim()}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(out);
  } catch {
    throw new AuthError(`docker-credential-${name} get printed something that is not JSON`);
  }
  const record = parsed as { Username?: unknown; Secret?: unknown };
  if (typeof record.Username !== "string" || typeof record.Secret !== "string") return undefined;
  return { username: record.Username, secret: record.Secret };
}

export async function helperStore(
  name: string,
  serverUrl: string,
  creds: HelperCredentials,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const input = JSON.stringify({ ServerURL: serverUrl, Username: creds.username, Secret: creds.secret });
  const { code, out } = await runHelper(name, "store", input, env);
  if (code !== 0) throw new AuthError(`docker-credential-${name} store failed: ${out.trim()}`);
}

/** Returns false when the helper had nothing for `serverUrl`. */
export async function helperErase(name: string, serverUrl: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  const { code, out } = await runHelper(name, "erase", serverUrl, env);
  if (code === 0) return true;
  if (/not found/i.test(out)) return false;
  throw new AuthError(`docker-credential-${name} erase failed: ${out.trim()}`);
}
