import { useLocation } from "../router";

export function SearchPage() {
  const { query } = useLocation();
  return (
    <section>
      <h1>Search: {query.get("q") ?? ""}</h1>
    </section>
  );
}
