import { api, withQuery } from "../api";
import { useAsync } from "../hooks";

/** A kind as GET /api/v1/kinds lists it (src/registry/discovery-views.ts KindView; fields the UI reads). */
export interface KindRow {
  id: string;
  title: string;
  iconUrl: string;
  accessory: boolean;
}

/** The catalogue is small (tens of kinds) and fixed while the server runs: one page of 1000 holds it. */
let cached: Promise<KindRow[]> | undefined;

function loadKinds(): Promise<KindRow[]> {
  cached ??= api.page<KindRow>(withQuery("/api/v1/kinds", { n: 1000 }), "kinds").then(
    (page) => page.items,
    (err: unknown) => {
      cached = undefined; // a refusal or an outage: ask again next time
      throw err;
    },
  );
  return cached;
}

/** The kinds people filter by (accessories such as signatures are not browsed on their own). */
export function useKinds(): KindRow[] {
  const kinds = useAsync(loadKinds, []);
  return (kinds.data ?? []).filter((k) => !k.accessory);
}

/** The kind's title for an id, or the id itself while the catalogue loads. */
export function kindTitle(kinds: KindRow[], id: string): string {
  return kinds.find((k) => k.id === id)?.title ?? id;
}
