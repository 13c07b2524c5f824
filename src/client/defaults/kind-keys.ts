import { BUILTIN_KINDS, type Kind } from "../../oci/kinds/index.js";
import { UsageError } from "../errors.js";

/**
 * What `registries:` keys and `--kind` accept: a kind id from the catalogue (`helm-chart`), or the
 * family word that ends kind ids (`chart`, `policy`, `model`), which covers every kind ending in it.
 */
export function kindKeys(kinds: readonly Kind[] = BUILTIN_KINDS): Set<string> {
  const keys = new Set<string>();
  for (const kind of kinds) {
    keys.add(kind.id);
    keys.add(familyOf(kind.id));
  }
  return keys;
}

export function familyOf(id: string): string {
  return id.slice(id.lastIndexOf("-") + 1);
}

/** A `--kind` value, checked: a kind id or family word, lower-cased. */
export function checkKind(value: string, where = "--kind"): string {
  const key = value.trim().toLowerCase();
  if (!kindKeys().has(key)) {
    throw new UsageError(
      `${where} ${JSON.stringify(value)} is not a kind: use a kind id or family word (wharf kinds lists them), e.g. ${["chart", "policy", "helm-chart", "opa-policy"].join(", ")}`,
    );
  }
  return key;
}

/** The `registries:` key that serves `kind`: its own id, else its family word. */
export function registryKeyFor(kind: string, keys: Iterable<string>): string | undefined {
  const present = new Set(keys);
  if (present.has(kind)) return kind;
  const family = familyOf(kind);
  return present.has(family) ? family : undefined;
}
