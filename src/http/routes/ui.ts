import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import type { FastifyReply, FastifyRequest } from "fastify";

/** dist/ui, from src/http/routes or dist/http/routes alike: what `npm run build` (vite build) wrote. */
const DEFAULT_DIR = fileURLToPath(new URL("../../../dist/ui/", import.meta.url));
/** The build holds a few dozen files; a folder far larger is not a UI build. */
const MAX_FILES = 500;
const MAX_FILE_BYTES = 8 * 1024 * 1024;

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".woff2": "font/woff2",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
};
const COMPRESSIBLE = new Set([".html", ".js", ".css", ".svg", ".json", ".txt"]);

/** No inline script or style, nothing from elsewhere, never framed: the UI holds admin powers. */
const SECURITY_HEADERS: Record<string, string> = {
  "Content-Security-Policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "same-origin",
  "Cross-Origin-Opener-Policy": "same-origin",
};

interface Asset {
  body: Buffer;
  gzip?: Buffer;
  br?: Buffer;
  type: string;
  etag: string;
  /** Hashed names (assets/) never change: cached for a year. */
  immutable: boolean;
}

export interface UiFiles {
  /** Whether a build was found (else every UI path says how to build it). */
  readonly built: boolean;
  send(request: FastifyRequest, reply: FastifyReply): FastifyReply;
}

/** GETs outside the registry's own APIs are the UI's: its files, or index.html for its client routes. */
export function isUiPath(request: FastifyRequest): boolean {
  if (request.method !== "GET" && request.method !== "HEAD") return false;
  const path = request.url.split("?", 1)[0] ?? "";
  return !/^\/(v2|api|auth)(\/|$)/.test(path);
}

/** Reads the UI build once, with gzip and brotli copies: a few hundred KB held in memory. */
export function loadUi(dir = DEFAULT_DIR): UiFiles {
  const assets = new Map<string, Asset>();
  try {
    for (const file of walk(dir)) {
      const size = statSync(file).size;
      // Missing silently it would be a 404 in the page: refuse the build instead.
      if (size > MAX_FILE_BYTES) throw new Error(`${file}: ${size} bytes, larger than a UI file may be`);
      const name = `/${relative(dir, file).split(sep).join("/")}`;
      const ext = extname(file).toLowerCase();
      const body = readFileSync(file);
      const asset: Asset = {
        body,
        type: TYPES[ext] ?? "application/octet-stream",
        etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`,
        immutable: name.startsWith("/assets/"),
      };
      if (COMPRESSIBLE.has(ext) && body.length > 512) {
        asset.gzip = gzipSync(body, { level: 9 });
        asset.br = brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 10 } });
      }
      assets.set(name, asset);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const index = assets.get("/index.html");
  return {
    built: index !== undefined,
    send(request, reply) {
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) reply.header(name, value);
      if (!index) {
        return reply
          .code(404)
          .type("text/plain; charset=utf-8")
          .send("The web UI is not built here: run `npm run build`. The registry API is at /v2/.\n");
      }
      const path = request.url.split("?", 1)[0] ?? "/";
      const asset = assets.get(path);
      // A missing hashed file is a stale page asking for an old build: a 404, never index.html.
      if (!asset && (path.startsWith("/assets/") || path === "/index.html")) {
        return reply.code(404).type("text/plain; charset=utf-8").send("no such file\n");
      }
      return sendAsset(request, reply, asset ?? index);
    },
  };
}

function sendAsset(request: FastifyRequest, reply: FastifyReply, asset: Asset): FastifyReply {
  const accepted = String(request.headers["accept-encoding"] ?? "");
  const encoding =
    asset.br && accepts(accepted, "br") ? "br" : asset.gzip && accepts(accepted, "gzip") ? "gzip" : undefined;
  const body = encoding === "br" ? asset.br! : encoding === "gzip" ? asset.gzip! : asset.body;
  // Each encoding is its own representation: its own strong validator.
  const etag = encoding ? `${asset.etag.slice(0, -1)}-${encoding}"` : asset.etag;
  reply
    .header("Content-Type", asset.type)
    .header("ETag", etag)
    .header("Vary", "Accept-Encoding")
    .header("Cache-Control", asset.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  if (matchesEtag(request.headers["if-none-match"], etag)) return reply.code(304).send();
  if (encoding) reply.header("Content-Encoding", encoding);
  reply.header("Content-Length", body.length);
  return reply.code(200).send(request.method === "HEAD" ? undefined : body);
}

/** Whether an Accept-Encoding list takes `coding` (named without `q=0`). */
function accepts(header: string, coding: string): boolean {
  return header.split(",").some((part) => {
    const [name, ...params] = part.trim().split(";");
    if (name?.trim().toLowerCase() !== coding) return false;
    return !params.some((p) => /^\s*q\s*=\s*0(\.0*)?\s*$/i.test(p));
  });
}

/** If-None-Match: a list of validators, weak ones (W/) compared by their value, or `*`. */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(",").some((tag) => {
    const value = tag.trim().replace(/^W\//, "");
    return value === "*" || value === etag;
  });
}

/** Files under `dir` (three levels deep), at most MAX_FILES in all: a UI build holds a few dozen. */
function* walk(dir: string, depth = 0, seen = { count: 0 }): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (++seen.count > MAX_FILES) throw new Error(`${dir}: more than ${MAX_FILES} files, not a UI build`);
    const path = join(dir, entry.name);
    if (entry.isDirectory() && depth < 3) yield* walk(path, depth + 1, seen);
    else if (entry.isFile()) yield path;
  }
}
