import { scannerFor } from "./lockfile/files.js";
import { scanYaml } from "./lockfile/yaml-scan.js";

/** An OCI reference found in a configuration file. */
export interface FoundReference {
  /** host/repo[:tag][@digest]; the tag may be a semver range to resolve against the registry's tags. */
  reference: string;
  /** Set when the version is a range (`^1.2.0`, `>=1 <2`) rather than one tag. */
  range?: string;
  /** Flux OCIRepository's `ref.semverFilter`, for a range. */
  semverFilter?: string;
  /** A Helm chart dependency: its range reads `_` in tags as `+`. */
  helm?: boolean;
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
    const key = JSON.stringify([f.reference, f.range, f.semverFilter, f.helm === true]);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({
      reference: f.reference,
      ...(f.range !== undefined ? { range: f.range } : {}),
      ...(f.semverFilter !== undefined ? { semverFilter: f.semverFilter } : {}),
      ...(f.helm ? { helm: true } : {}),
      path: f.path,
    });
  }
  return out;
}
