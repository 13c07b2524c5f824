import { createHash } from "node:crypto";
import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { join, posix } from "node:path";
import { gzipSync } from "node:zlib";

/**
 * Builds OCI image layouts (https://github.com/opencontainers/image-spec/blob/main/image-layout.md)
 * offline: config, gzip tar layers and manifests are made here byte by byte, deterministically (sorted
 * entries, fixed mtimes and owners), so tests can predict and compare every digest.
 */

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
export const OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
const REF_NAME = "org.opencontainers.image.ref.name";
/** 2000-01-01T00:00:00Z: every tar entry's mtime and the config's `created`. */
const EPOCH = 946684800;

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface LayerEntry {
  /** Path inside the image, with or without a leading `/` (e.g. `bin/sh`). */
  path: string;
  type?: "file" | "dir" | "symlink";
  data?: string | Buffer;
  /** Permission bits; default 0644 for files, 0755 for directories, 0777 for symlinks. */
  mode?: number;
  /** Target of a symlink. */
  linkname?: string;
}

export interface ImageOptions {
  /** Layers, bottom first; each a list of entries (missing parent directories are added). */
  layers?: LayerEntry[][];
  /** Shorthand for one layer of regular files: path -> content. Appended after `layers`. */
  files?: Record<string, string | Buffer>;
  /** Default linux/<host arch>. */
  platform?: Platform;
  cmd?: string[];
  env?: string[];
  /** Manifest annotations. */
  annotations?: Record<string, string>;
}

export interface WrittenImage extends Descriptor {
  /** The manifest exactly as written (its sha256 is `digest`). */
  bytes: Buffer;
  manifest: { schemaVersion: 2; mediaType: string; config: Descriptor; layers: Descriptor[] };
  config: Descriptor;
  layers: Descriptor[];
  /** sha256 of each uncompressed layer tar, as in the config's rootfs. */
  diffIds: string[];
  platform: Platform;
}

export interface WrittenIndex extends Descriptor {
  bytes: Buffer;
  index: { schemaVersion: 2; mediaType: string; manifests: Descriptor[] };
  manifests: WrittenImage[];
}

export interface LayoutIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

export function sha256(bytes: Buffer | string): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

export function hostPlatform(): Platform {
  const arch = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x" }[
    process.arch as string
  ];
  return { os: "linux", architecture: arch ?? process.arch };
}

/** Writes `bytes` as a blob of the layout at `dir` and returns its descriptor. */
export async function writeBlob(dir: string, mediaType: string, bytes: Buffer): Promise<Descriptor> {
  const digest = sha256(bytes);
  const blobs = join(dir, "blobs", "sha256");
  await mkdir(blobs, { recursive: true });
  await writeFile(join(blobs, digest.slice("sha256:".length)), bytes);
  return { mediaType, digest, size: bytes.length };
}

/** Writes an image's layers, config and manifest into the layout at `dir`, without naming it in index.json. */
export async function writeImage(dir: string, opts: ImageOptions): Promise<WrittenImage> {
  await initLayout(dir);
  const platform = opts.platform ?? hostPlatform();
  const layerEntries = [...(opts.layers ?? [])];
  if (opts.files) {
    layerEntries.push(Object.entries(opts.files).map(([path, data]) => ({ path, data })));
  }
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const entries of layerEntries) {
    const tar = tarArchive(entries);
    diffIds.push(sha256(tar));
    layers.push(await writeBlob(dir, OCI_LAYER_GZIP, gzipSync(tar, { level: 6 })));
  }
  const configJson = {
    created: new Date(EPOCH * 1000).toISOString(),
    architecture: platform.architecture,
    ...(platform.variant ? { variant: platform.variant } : {}),
    os: platform.os,
    config: {
      Env: opts.env ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      ...(opts.cmd ? { Cmd: opts.cmd } : {}),
    },
    rootfs: { type: "layers", diff_ids: diffIds },
    history: diffIds.map(() => ({
      created: new Date(EPOCH * 1000).toISOString(),
      created_by: "wharf tests",
    })),
  };
  const config = await writeBlob(dir, OCI_CONFIG, Buffer.from(JSON.stringify(configJson)));
  const manifest = {
    schemaVersion: 2 as const,
    mediaType: OCI_MANIFEST,
    config,
    layers,
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
  };
  const bytes = Buffer.from(JSON.stringify(manifest, null, 2));
  const descriptor = await writeBlob(dir, OCI_MANIFEST, bytes);
  return { ...descriptor, bytes, manifest, config, layers, diffIds, platform };
}

/** Writes an image into the layout at `dir` (created if needed) and names it `tag` in index.json. */
export async function writeImageLayout(
  dir: string,
  opts: ImageOptions & { tag: string },
): Promise<WrittenImage> {
  const image = await writeImage(dir, opts);
  await setTag(dir, { mediaType: image.mediaType, digest: image.digest, size: image.size }, opts.tag);
  return image;
}

/**
 * Writes one image per platform and an image index over them into the layout at `dir`, naming the index
 * `tag` in index.json. The images need not run on this machine.
 */
export async function writeIndexLayout(
  dir: string,
  opts: {
    tag: string;
    images: (ImageOptions & { platform: Platform })[];
    annotations?: Record<string, string>;
  },
): Promise<WrittenIndex> {
  const manifests: WrittenImage[] = [];
  for (const image of opts.images) manifests.push(await writeImage(dir, image));
  const index = {
    schemaVersion: 2 as const,
    mediaType: OCI_INDEX,
    manifests: manifests.map((m) => ({
      mediaType: m.mediaType,
      digest: m.digest,
      size: m.size,
      platform: m.platform,
    })),
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
  };
  const bytes = Buffer.from(JSON.stringify(index, null, 2));
  const descriptor = await writeBlob(dir, OCI_INDEX, bytes);
  await setTag(dir, descriptor, opts.tag);
  return { ...descriptor, bytes, index, manifests };
}

/** A layer with /bin/busybox (the static binary from Debian's busybox-static) and /bin/sh -> busybox. */
export async function busyboxLayer(binary = "/bin/busybox"): Promise<LayerEntry[]> {
  const data = await readFile(binary);
  return [
    { path: "bin", type: "dir" },
    { path: "bin/busybox", data, mode: 0o755 },
    { path: "bin/sh", type: "symlink", linkname: "busybox" },
    { path: "etc/passwd", data: "root:x:0:0:root:/root:/bin/sh\n" },
    { path: "etc/group", data: "root:x:0:\n" },
    { path: "root", type: "dir", mode: 0o700 },
    { path: "tmp", type: "dir", mode: 0o1777 },
  ];
}

/** A runnable single-layer busybox image for the host's platform, tagged `tag` in the layout at `dir`. */
export async function writeBusyboxLayout(dir: string, tag: string): Promise<WrittenImage> {
  return writeImageLayout(dir, {
    tag,
    layers: [await busyboxLayer()],
    cmd: ["/bin/sh"],
    annotations: { "org.opencontainers.image.title": "wharf-test-busybox" },
  });
}

/** index.json of the layout at `dir`. */
export async function readLayoutIndex(dir: string): Promise<LayoutIndex> {
  return JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as LayoutIndex;
}

/** The descriptor index.json names `tag`, or undefined. */
export async function resolveLayoutTag(dir: string, tag: string): Promise<Descriptor | undefined> {
  const index = await readLayoutIndex(dir);
  return index.manifests.find((m) => m.annotations?.[REF_NAME] === tag);
}

/** Digests of every blob in the layout at `dir`, sorted. */
export async function layoutBlobs(dir: string): Promise<string[]> {
  const names = await readdir(join(dir, "blobs", "sha256"));
  return names.map((n) => `sha256:${n}`).sort();
}

export async function readLayoutBlob(dir: string, digest: string): Promise<Buffer> {
  const [algorithm, hex] = digest.split(":");
  if (!algorithm || !hex) throw new Error(`bad digest ${digest}`);
  return readFile(join(dir, "blobs", algorithm, hex));
}

async function initLayout(dir: string): Promise<void> {
  await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  try {
    await readFile(join(dir, "index.json"));
  } catch {
    await writeFile(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [] }));
  }
}

async function setTag(dir: string, descriptor: Descriptor, tag: string): Promise<void> {
  const index = await readLayoutIndex(dir);
  const manifests = index.manifests.filter((m) => m.annotations?.[REF_NAME] !== tag);
  manifests.push({
    mediaType: descriptor.mediaType,
    digest: descriptor.digest,
    size: descriptor.size,
    annotations: { [REF_NAME]: tag },
  });
  await writeFile(
    join(dir, "index.json"),
    JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }),
  );
}

/** An uncompressed ustar archive of `entries`, parents first, sorted, owned by 0:0 with a fixed mtime. */
export function tarArchive(entries: LayerEntry[]): Buffer {
  const byPath = new Map<string, LayerEntry>();
  for (const entry of entries) {
    const path = posix.normalize(entry.path).replace(/^\/+/, "").replace(/\/+$/, "");
    if (path === "" || path === "." || path.startsWith("..")) throw new Error(`bad layer path ${entry.path}`);
    byPath.set(path, { ...entry, path });
    for (let parent = posix.dirname(path); parent !== "."; parent = posix.dirname(parent)) {
      if (!byPath.has(parent)) byPath.set(parent, { path: parent, type: "dir" });
    }
  }
  const blocks: Buffer[] = [];
  for (const path of [...byPath.keys()].sort()) {
    const entry = byPath.get(path)!;
    const type = entry.type ?? "file";
    const data = type === "file" ? Buffer.from(entry.data ?? "") : Buffer.alloc(0);
    const mode = entry.mode ?? (type === "dir" ? 0o755 : type === "symlink" ? 0o777 : 0o644);
    const name = type === "dir" ? `${path}/` : path;
    blocks.push(tarHeader(name, type, mode, data.length, entry.linkname ?? ""));
    if (data.length > 0) blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

function tarHeader(name: string, type: "file" | "dir" | "symlink", mode: number, size: number, link: string) {
  if (Buffer.byteLength(name) > 100 || Buffer.byteLength(link) > 100)
    throw new Error(`tar name too long: ${name}`);
  const block = Buffer.alloc(512);
  block.write(name, 0, 100, "utf8");
  block.write(octal(mode, 7), 100);
  block.write(octal(0, 7), 108);
  block.write(octal(0, 7), 116);
  block.write(octal(size, 11), 124);
  block.write(octal(EPOCH, 11), 136);
  block.write("        ", 148);
  block.write(type === "dir" ? "5" : type === "symlink" ? "2" : "0", 156);
  block.write(link, 157, 100, "utf8");
  block.write("ustar\u000000", 257);
  block.write("root", 265, 32);
  block.write("root", 297, 32);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${octal(sum, 6)} `, 148);
  return block;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width, "0")}\u0000`;
}
