import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

/** A fresh temporary name inside `dir` (same filesystem as the target, so rename is atomic). */
export function tempName(dir: string, prefix = ".tmp"): string {
  return join(dir, `${prefix}-${process.pid}-${randomBytes(6).toString("hex")}`);
}

/**
 * Writes a stream to `target` through a temporary file and a rename: readers see the old content or the
 * whole new one, never a part, and a failure (including a verification error in the stream) leaves
 * nothing behind.
 */
export async function writeStreamAtomic(
  target: string,
  source: Readable,
  tmpDir = dirname(target),
): Promise<void> {
  await mkdir(tmpDir, { recursive: true });
  await mkdir(dirname(target), { recursive: true });
  const tmp = tempName(tmpDir);
  try {
    await pipeline(source, createWriteStream(tmp, { flags: "wx" }));
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export async function writeFileAtomic(
  target: string,
  data: Buffer | string,
  tmpDir = dirname(target),
): Promise<void> {
  await mkdir(tmpDir, { recursive: true });
  await mkdir(dirname(target), { recursive: true });
  const tmp = tempName(tmpDir);
  try {
    await writeFile(tmp, data, { flag: "wx" });
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
