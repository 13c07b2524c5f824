import { scannerFor } from "./lockfile/files.js";
import { scanYaml } from "./lockfile/yaml-scan.js";

/** An OCI reference found in a configuration file. */
export interface FoundReference {
  /** host/repo[:tag][@digest]; the tag may be a semver range to resolve against the registry's tags. */
  reference: string;
  /** Set when the version is a range (`^1.2.0`, `>=1 <2`) rather than one tag. */
  range?: string;
  /** Where in the file, for messages: `spec.url`, `dependencies[0]`. */
  path: string;
}

/**
 * The distinct OCI references a file declares (see lockfile/ for what is recognised in YAML, JSON, HCL
 * and .tf files; a file of another extension is read as YAML), each once, in the order written.
 */
export function findReferences(text: string, fileName: string): FoundReference[] {
  const found = (scannerFor(fileName) ?? scanYaml)(text, fileName);
  const seen = new Set<string>();
  const out: FoundReference[] = [];
  for (const f of found) {
    const key = `${f.reference} ${f.range ?? ""}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ reference: f.reference, ...(f.range !== undefined ? { range: f.range } : {}), path: f.path });
  }
  return out;
}
