import { UsageError } from "../errors.js";

/**
 * `--kind K` → the kind ids it selects: the kind whose id is K, else every kind with K as one of the
 * words of its id, so that `--kind chart` means helm-chart, `--kind policy` OPA and Kyverno policies and
 * `--kind sbom` every SBOM format. A word that names no kind is a usage error that lists where to look.
 */
export function resolveKindFilter(filter: string, kinds: readonly { id: string }[]): string[] {
  const wanted = filter.trim().toLowerCase();
  if (kinds.some((k) => k.id === wanted)) return [wanted];
  const matching = kinds.filter((k) => k.id.split("-").includes(wanted)).map((k) => k.id);
  if (matching.length > 0) return matching;
  throw new UsageError(
    `--kind ${JSON.stringify(filter)} names no kind: give a kind id or a word of one (see \`wharf kinds\`)`,
  );
}
