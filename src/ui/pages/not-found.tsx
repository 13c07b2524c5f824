import { Link } from "../router";

export function NotFoundPage() {
  return (
    <section>
      <h1>Not found</h1>
      <p>
        Nothing lives at this address. <Link href="/">All repositories</Link>
      </p>
    </section>
  );
}
