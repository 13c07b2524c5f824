import { readFile, readdir, stat } from "node:fs/promises";
import { basename, extname, join, relative } from "node:path";
import { parseTrustedKey, type TrustedKey } from "../../oci/signatures/index.js";
import { UsageError, errorMessage } from "../errors.js";

/** Files a trust store may hold: certificates in PEM. */
const CERT_EXTENSIONS = new Set([".pem", ".crt", ".cer"]);
/** A trust store is a handful of CA certificates: more than this is not one. */
const MAX_TRUST_STORE_FILES = 256;
const MAX_DEPTH = 4;
const MAX_KEY_FILE_BYTES = 64 * 1024;

/**
 * The certificates of trust stores: each PATH a PEM file, or a directory of .pem/.crt/.cer files (also
 * Notation's `x509/ca/<name>/*.pem` shape, searched a few levels down). Named `<store>/<file>`.
 */
export async function readTrustStores(paths: readonly string[]): Promise<TrustedKey[]> {
  const keys: TrustedKey[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new UsageError(`--trust-store ${path}: no such file or directory`);
    if (info.isFile()) {
      keys.push(await parseKeyFile(basename(path), path, "--trust-store"));
      continue;
    }
    const files = await certificateFiles(path, 0);
    if (files.length === 0)
      throw new UsageError(`--trust-store ${path}: no .pem, .crt or .cer certificates in it`);
    if (files.length > MAX_TRUST_STORE_FILES)
      throw new UsageError(`--trust-store ${path}: more than ${MAX_TRUST_STORE_FILES} certificate files`);
    for (const file of files)
      keys.push(await parseKeyFile(`${basename(path)}/${relative(path, file)}`, file, "--trust-store"));
  }
  return keys;
}

async function certificateFiles(dir: string, depth: number): Promise<string[]> {
  const found: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: unknown) => {
    throw new UsageError(`--trust-store ${dir}: ${errorMessage(err)}`);
  });
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && depth < MAX_DEPTH) found.push(...(await certificateFiles(path, depth + 1)));
    else if (entry.isFile() && CERT_EXTENSIONS.has(extname(entry.name).toLowerCase())) found.push(path);
    if (found.length > MAX_TRUST_STORE_FILES) break;
  }
  return found;
}

async function parseKeyFile(name: string, path: string, flag: string): Promise<TrustedKey> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) throw new UsageError(`${flag} ${path}: no such file`);
  if (info.size > MAX_KEY_FILE_BYTES)
    throw new UsageError(`${flag} ${path}: too large for a key or certificate`);
  const pem = await readFile(path, "utf8");
  if (/PRIVATE KEY-----/.test(pem))
    throw new UsageError(`${flag} ${path} is a private key: verify takes the public key (cosign.pub)`);
  try {
    return parseTrustedKey(name, pem);
  } catch (err) {
    throw new UsageError(`${flag} ${path}: ${errorMessage(err)}`);
  }
}
