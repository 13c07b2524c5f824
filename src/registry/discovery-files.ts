/**
 * The files an artifact carries, for the discovery API's file views: the entries of its archive layers
 * (a Helm chart's .tgz, a Flux or policy bundle) and its titled layers (ORAS-style files). Everything is
 * streamed from the blob store and bounded: an archive is read through gunzip and a tar parser, never
 * buffered, and reading stops at MAX_ARCHIVE_BYTES read or decompressed, or MAX_ARCHIVE_ENTRIES entries.
 */
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { Parser, type ReadEntry } from "tar";
import { RegistryError } from "../oci/errors.js";
import type { DescriptorView, ManifestView } from "../oci/kinds/view.js";

/** File content returned as text, at most (UTF-8 bytes). */
export const MAX_FILE_TEXT = 256 * 1024;
/** Bytes decompressed per request, over all archive layers. */
export const MAX_ARCHIVE_BYTES = 64 * 1024 * 1024;
/** Archive entries read per request (files, directories and links alike). */
export const MAX_ARCHIVE_ENTRIES = 2000;
/** Files listed per artifact. */
export const MAX_FILES = 2000;
const MAX_PATH = 1024;
const TITLE = "org.opencontainers.image.title";

/**
 * Layer media types that are gzipped tar archives of an artifact's files (src/oci/kinds/catalogue): their
 * entries are the files. An image's layers (filesystem changesets) are not: images list no files.
 */
const ARCHIVE_LAYER_TYPES: ReadonlySet<string> = new Set([
  "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
  "application/vnd.cncf.flux.content.v1.tar+gzip",
  "application/vnd.timoni.content.v1.tar+gzip",
  "application/vnd.cncf.openpolicyagent.layer.v1.tar+gzip",
  "application/vnd.cncf.kyverno.bundle.content.v1.tar+gzip",
]);

const FILE_ENTRY_TYPES: ReadonlySet<string> = new Set(["File", "OldFile", "ContiguousFile"]);

export interface FileEntry {
  path: string;
  size: number;
  /** The digest of the layer holding it. */
  layer: string;
  /** The layer's media type. */
  mediaType: string | null;
}

export interface FileList {
  files: FileEntry[];
  /** True when a limit stopped the listing (or an archive could not be read to its end). */
  truncated: boolean;
}

export interface FileContent {
  path: string;
  size: number;
  /** The content when it is UTF-8 text without NUL bytes (its first MAX_FILE_TEXT bytes); else null. */
  text: string | null;
  binary: boolean;
  /** True when `text` holds only the start of the file, or the archive ended before the file did. */
  truncated: boolean;
}

/** A stream of one of the repository's blobs (its first `limit` bytes, if given), with its size. */
export type OpenBlob = (digest: string, limit?: number) => Promise<{ size: number; stream: Readable }>;

/** What one request may still read from archives (shared by all its archive layers). */
interface Budget {
  /** Decompressed bytes. */
  bytes: number;
  /** Stored (compressed) bytes read from the layers. */
  read: number;
  entries: number;
}

/** The file an archive search found: its start as read so far. */
interface FoundFile {
  size: number;
  chunks: Buffer[];
  length: number;
}

type Source =
  | { type: "archive"; layer: DescriptorView & { digest: string } }
  | { type: "file"; path: string; layer: DescriptorView & { digest: string } };

/** The layers that hold files: archives first by position, titled layers as one file each. */
function sourcesOf(view: ManifestView): Source[] {
  if (view.isIndex) return [];
  const sources: Source[] = [];
  for (const layer of view.layers) {
    if (!layer.digest) continue;
    const withDigest = { ...layer, digest: layer.digest };
    if (layer.mediaType && ARCHIVE_LAYER_TYPES.has(layer.mediaType)) {
      sources.push({ type: "archive", layer: withDigest });
      continue;
    }
    const title = layer.annotations[TITLE];
    const path = title === undefined ? null : safePath(title);
    if (path !== null) sources.push({ type: "file", path, layer: withDigest });
  }
  return sources;
}

/** The artifact's files, as far as the limits allow. */
export async function listFiles(view: ManifestView, open: OpenBlob): Promise<FileList> {
  const files: FileEntry[] = [];
  const budget: Budget = { bytes: 0, read: 0, entries: 0 };
  let truncated = false;
  for (const source of sourcesOf(view)) {
    if (files.length >= MAX_FILES) return { files, truncated: true };
    const { layer } = source;
    if (source.type === "file") {
      files.push({ path: source.path, size: layer.size, layer: layer.digest, mediaType: layer.mediaType });
      continue;
    }
    if (exhausted(budget)) {
      truncated = true;
      continue;
    }
    const { stream } = await open(layer.digest, MAX_ARCHIVE_BYTES - budget.read);
    const complete = await walkArchive(stream, budget, (entry, path, stop) => {
      entry.resume();
      if (path === null) return;
      // One more than fits: the listing is cut (stopping at the last one that fits could not tell).
      if (files.length >= MAX_FILES) return stop();
      files.push({ path, size: entry.size, layer: layer.digest, mediaType: layer.mediaType });
    });
    if (!complete) truncated = true;
  }
  return { files, truncated };
}

/** One file's content (the first MAX_FILE_TEXT bytes as text, or flagged binary); NOT_FOUND if none. */
export async function readFile(view: ManifestView, open: OpenBlob, requested: string): Promise<FileContent> {
  const path = safePath(requested);
  if (path === null) {
    throw new RegistryError("INVALID_REQUEST", "invalid file path", { path: requested.slice(0, 300) });
  }
  const budget: Budget = { bytes: 0, read: 0, entries: 0 };
  let searchTruncated = false;
  for (const source of sourcesOf(view)) {
    const { layer } = source;
    if (source.type === "file") {
      if (source.path !== path) continue;
      const { size, stream } = await open(layer.digest, MAX_FILE_TEXT);
      const bytes = await collect(stream, MAX_FILE_TEXT);
      return contentOf(path, size, bytes, bytes.length === size);
    }
    if (exhausted(budget)) {
      searchTruncated = true;
      continue;
    }
    const { stream } = await open(layer.digest, MAX_ARCHIVE_BYTES - budget.read);
    const search: { found?: FoundFile } = {};
    const complete = await walkArchive(stream, budget, (entry, entryPath, stop) => {
      if (search.found || entryPath !== path) {
        entry.resume();
        return;
      }
      const file: FoundFile = { size: entry.size, chunks: [], length: 0 };
      search.found = file;
      entry.on("data", (chunk: Buffer) => {
        const room = MAX_FILE_TEXT - file.length;
        if (room <= 0) return;
        const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
        file.chunks.push(kept);
        file.length += kept.length;
        if (file.length >= MAX_FILE_TEXT) stop();
      });
      entry.on("end", stop);
    });
    const found = search.found;
    if (found) {
      const bytes = Buffer.concat(found.chunks);
      // Whole when every byte the entry declares was read (the archive may end or be cut before).
      const whole = bytes.length === found.size;
      return contentOf(path, found.size, bytes, whole);
    }
    if (!complete) searchTruncated = true;
  }
  throw new RegistryError("NOT_FOUND", "no such file in this artifact", {
    path,
    ...(searchTruncated ? { truncated: true } : {}),
  });
}

function exhausted(budget: Budget): boolean {
  return (
    budget.bytes >= MAX_ARCHIVE_BYTES ||
    budget.read >= MAX_ARCHIVE_BYTES ||
    budget.entries >= MAX_ARCHIVE_ENTRIES
  );
}

/**
 * Reads a gzipped tar from `blob`, calling `onEntry` for each entry with its path if it is a regular file
 * with a safe name (null otherwise: a directory, a link, an absolute or `..` name); the callback must
 * consume or resume the entry. False when the archive was not read to its end (a limit, `stop`, or an
 * unreadable archive).
 */
async function walkArchive(
  blob: Readable,
  budget: Budget,
  onEntry: (entry: ReadEntry, path: string | null, stop: () => void) => void,
): Promise<boolean> {
  let stopped = false;
  let complete = true;
  const stop = () => {
    stopped = true;
    complete = false;
  };
  const parser = new Parser({
    strict: false,
    onReadEntry: (entry: ReadEntry) => {
      if (stopped) return entry.resume();
      if (budget.entries >= MAX_ARCHIVE_ENTRIES) {
        stop();
        return entry.resume();
      }
      budget.entries += 1;
      const path = FILE_ENTRY_TYPES.has(entry.type) ? safePath(entry.path) : null;
      onEntry(entry, path, stop);
    },
  });
  // Malformed tar data ends the listing where it is (non-strict parsers warn rather than throw).
  parser.on("warn", (code: string) => {
    if (code === "TAR_BAD_ARCHIVE" || code === "TAR_ABORT") complete = false;
  });
  parser.on("error", () => (complete = false));
  // Compressed bytes count too: empty deflate blocks inflate to nothing, however many are read.
  blob.on("data", (chunk: Buffer) => (budget.read += chunk.length));
  const gunzip = createGunzip();
  const piped = pipeline(blob, gunzip).catch(() => undefined);
  try {
    let first = true;
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      // The parser would decompress a nested archive itself, past the byte limit: such a layer is refused.
      if (first && isCompressed(chunk)) {
        complete = false;
        break;
      }
      first = false;
      const room = MAX_ARCHIVE_BYTES - budget.bytes;
      const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
      budget.bytes += part.length;
      parser.write(part);
      if (stopped) break;
      if (part.length < chunk.length || budget.bytes >= MAX_ARCHIVE_BYTES) {
        complete = false;
        break;
      }
    }
    if (complete) parser.end();
  } catch (err) {
    // Not gzip (or cut short): the entries read so far stand. A store failure is the caller's error.
    if (!isZlibError(err)) throw err;
    complete = false;
  } finally {
    gunzip.destroy();
    blob.destroy();
    await piped;
  }
  return complete;
}

/** gzip or zstd magic (which tar's parser sniffs for): a compressed archive inside the gzip. */
function isCompressed(chunk: Buffer): boolean {
  if (chunk.length === 0) return false;
  return [Buffer.from([0x1f, 0x8b]), Buffer.from([0x28, 0xb5, 0x2f, 0xfd])].some((magic) =>
    chunk.subarray(0, magic.length).equals(magic.subarray(0, Math.min(magic.length, chunk.length))),
  );
}

function isZlibError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("Z_");
}

/**
 * A relative path without `.` or `..` segments, backslashes or control characters (a leading `./` is
 * dropped), or null: such names are neither listed nor served.
 */
export function safePath(name: string): string | null {
  const trimmed = name.replace(/^(\.\/)+/, "");
  if (trimmed.length === 0 || trimmed.length > MAX_PATH) return null;
  // eslint-disable-next-line no-control-regex -- names with control characters are refused
  if (trimmed.startsWith("/") || trimmed.includes("\\") || /[\u0000-\u001f\u007f]/.test(trimmed)) return null;
  const segments = trimmed.replace(/\/$/, "").split("/");
  if (segments.some((s) => s === "" || s === "." || s === "..")) return null;
  return segments.join("/");
}

async function collect(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const kept = chunk.subarray(0, Math.max(0, limit - length));
      chunks.push(kept);
      length += kept.length;
      if (length >= limit) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks);
}

/** Text when the bytes are UTF-8 without NUL (a cut sequence at the end of a partial read is dropped). */
function contentOf(path: string, size: number, bytes: Buffer, whole: boolean): FileContent {
  if (!bytes.includes(0)) {
    try {
      const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes, { stream: !whole });
      return { path, size, text, binary: false, truncated: !whole };
    } catch {
      // Not UTF-8: binary.
    }
  }
  return { path, size, text: null, binary: true, truncated: !whole };
}
