import type { Dirent } from "node:fs";
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
 * Notation's trust store kinds (`x509/<kind>/<name>/`) whose certificates anchor a signature. `tsa`
 * holds timestamping roots: trusting those as signers would accept anything their CA ever issued.
 */
const NOTATION_SIGNING_STORES = ["ca", "signingAuthority"];

/**
 * The certificates of trust stores: each PATH a PEM file; a Notation trust store (a directory with
 * `x509/`, or that `x509/` itself), of which only `x509/ca/<name>/` and `x509/signingAuthority/<name>/`
 * are read; or a plain directory of .pem/.crt/.cer files, searched a few levels down (an `x509/` met on
 * the way is read as Notation's). Named `<store>/<file>`. Notation's trustpolicy.json is not applied.
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
    const files = await storeFiles(path);
    if (files.length === 0)
      throw new UsageError(
        `--trust-store ${path}: no .pem, .crt or .cer certificates in it${(await notationX509(path)) ? " (read: x509/ca/<name>/, x509/signingAuthority/<name>/)" : ""}`,
      );
    if (files.length > MAX_TRUST_STORE_FILES)
      throw new UsageError(`--trust-store ${path}: more than ${MAX_TRUST_STORE_FILES} certificate files`);
    for (const file of files)
      keys.push(await parseKeyFile(`${basename(path)}/${relative(path, file)}`, file, "--trust-store"));
  }
  return keys;
}

async function storeFiles(dir: string): Promise<string[]> {
  const x509 = await notationX509(dir);
  return x509 ? notationFiles(x509) : plainFiles(dir, 0);
}

/** A Notation trust store's `x509/` directory: `dir` itself, or its `x509/`; undefined for a plain directory. */
async function notationX509(dir: string): Promise<string | undefined> {
  if (basename(dir) === "x509") return dir;
  return (await isDirectory(join(dir, "x509"))) ? join(dir, "x509") : undefined;
}

/** `x509/ca/<name>/*` and `x509/signingAuthority/<name>/*`: the files of each named store, as Notation reads them. */
async function notationFiles(x509: string): Promise<string[]> {
  const found: string[] = [];
  for (const kind of NOTATION_SIGNING_STORES) {
    const kindDir = join(x509, kind);
    if (!(await isDirectory(kindDir))) continue;
    for (const store of await entries(kindDir)) {
      if (!store.isDirectory()) continue;
      for (const file of await entries(join(kindDir, store.name))) {
        if (file.isFile() && CERT_EXTENSIONS.has(extname(file.name).toLowerCase()))
          found.push(join(kindDir, store.name, file.name));
        if (found.length > MAX_TRUST_STORE_FILES) return found;
      }
    }
  }
  return found;
}

async function plainFiles(dir: string, depth: number): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await entries(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name === "x509") found.push(...(await notationFiles(path)));
    else if (entry.isDirectory() && depth < MAX_DEPTH) found.push(...(await plainFiles(path, depth + 1)));
    else if (entry.isFile() && CERT_EXTENSIONS.has(extname(entry.name).toLowerCase())) found.push(path);
    if (found.length > MAX_TRUST_STORE_FILES) break;
  }
  return found;
}

async function entries(dir: string): Promise<Dirent[]> {
  const list = await readdir(dir, { withFileTypes: true }).catch((err: unknown) => {
    throw new UsageError(`--trust-store ${dir}: ${errorMessage(err)}`);
  });
  return list.sort((a, b) => (a.name < b.name ? -1 : 1));
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
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
