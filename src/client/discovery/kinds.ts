import { BUILTIN_KINDS } from "../../oci/kinds/index.js";
import { familyOf } from "../defaults/kind-keys.js";

/** Whether an artifact of kind `id` answers a `--kind` filter (a kind id, or a family word such as chart). */
export function kindMatches(id: string | null, filter: string | undefined): boolean {
  if (filter === undefined) return true;
  if (id === null) return false;
  return id === filter || familyOf(id) === filter;
}

const TITLES = new Map(BUILTIN_KINDS.map((k) => [k.id, k.title]));

export function kindTitle(id: string): string | null {
  return TITLES.get(id) ?? null;
}
