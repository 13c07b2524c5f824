import { ApiError } from "../api";
import { Link, useLocation } from "../router";
import { useSession } from "../session";
import { ErrorBox } from "./status";

/** The sign-in page's address, coming back to the current page afterwards. */
export function signInHref(path: string, search: string): string {
  return path === "/sign-in" ? "/sign-in" : `/sign-in?next=${encodeURIComponent(path + search)}`;
}

/**
 * A failed read as the user can act on it: `notFound` for a 404 (what the caller may not pull is a 404
 * too), a sign-in link for a refusal while signed out, the server's message otherwise.
 */
export function ReadError({ error, notFound }: { error: Error; notFound?: string }) {
  const session = useSession();
  const { path } = useLocation();
  const status = error instanceof ApiError ? error.status : 0;
  const signIn =
    session.authEnabled && !session.user ? (
      <p>
        <Link href={signInHref(path, location.search)}>Sign in</Link> to see what your account may pull.
      </p>
    ) : null;
  if (status === 404 && notFound) {
    return (
      <div class="not-found-box" role="alert">
        <p>
          <strong>{notFound}</strong>
        </p>
        {signIn}
      </div>
    );
  }
  return <ErrorBox error={error}>{(status === 401 || status === 403) && signIn}</ErrorBox>;
}
