import { gzipSync } from "node:zlib";

export interface RawEntry {
  name: string;
  /** ustar type flag: 0 file, 1 hard link, 2 symlink, 3 char device, 5 directory, 6 FIFO. */
  type?: "0" | "1" | "2" | "3" | "5" | "6";
  data?: string;
  linkname?: string;
}

/**
 * Builds a tar archive byte by byte, without any library's sanitising, so that tests can hand wharf the
 * archives an attacker would: `../` paths, absolute paths, escaping links, device nodes.
 */
export function rawTar(entries: RawEntry[], gzip = true): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const data = Buffer.from(entry.data ?? "");
    blocks.push(header(entry, data.length));
    if (data.length > 0) blocks.push(Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]));
  }
  blocks.push(Buffer.alloc(1024));
  const tar = Buffer.concat(blocks);
  return gzip ? gzipSync(tar) : tar;
}

function header(entry: RawEntry, size: number): Buffer {
  const block = Buffer.alloc(512);
  const type = entry.type ?? "0";
  block.write(entry.name, 0, 100, "utf8");
  block.write(octal(type === "5" ? 0o755 : 0o644, 7), 100);
  block.write(octal(0, 7), 108);
  block.write(octal(0, 7), 116);
  block.write(octal(size, 11), 124);
  block.write(octal(946684800, 11), 136);
  block.write("        ", 148);
  block.write(type, 156);
  block.write(entry.linkname ?? "", 157, 100, "utf8");
  block.write("ustar\u000000", 257);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${octal(sum, 6)} `, 148);
  return block;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width, "0")}\u0000`;
}
