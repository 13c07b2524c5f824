import { familyOf } from "../defaults/kind-keys.js";
import { UsageError } from "../errors.js";

/**
 * `--kind K` → the kind ids it selects from a catalogue (the registry's, with its operator kinds, or the
 * built-in one): the kind whose id is K, else every kind of the family K (the word its id ends in, as
 * `registries:` keys take it), so that `--kind chart` means helm-chart, `--kind policy` OPA and Kyverno
 * policies and `--kind sbom` every SBOM format. A word that names no kind is a usage error.
 */
export function resolveKindFilter(filter: string, kinds: readonly { id: string }[]): string[] {
  const wanted = filter.trim().toLowerCase();
  if (kinds.some((k) => k.id === wanted)) return [wanted];
  const family = kinds.filter((k) => familyOf(k.id) === wanted).map((k) => k.id);
  if (family.length > 0) return family;
  throw new UsageError(
    `--kind ${JSON.stringify(filter)} names no kind: give a kind id or the word kind ids end in, e.g. chart or policy (see \`wharf kinds\`)`,
  );
}
