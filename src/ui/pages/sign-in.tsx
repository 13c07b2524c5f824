import { useState } from "preact/hooks";
import { ErrorBox, Spinner } from "../components/status";
import { Link, navigate, useLocation } from "../router";
import { signIn, useSession } from "../session";
import "./browse.css";

/**
 * Where to go after signing in: `?next=` when it is a path on this site (`/r/team/app`), never another
 * origin (`//evil.example`, `https://…`, `/\evil`) nor a script URL.
 */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  try {
    const url = new URL(next, location.origin);
    if (url.origin !== location.origin || url.pathname === "/sign-in") return "/";
    return url.pathname + url.search + url.hash;
  } catch {
    return "/";
  }
}

export function SignInPage() {
  const { query } = useLocation();
  const session = useSession();
  const [error, setError] = useState<Error | undefined>();
  const [busy, setBusy] = useState(false);
  const next = safeNext(query.get("next"));
  if (session.loading) return <Spinner />;
  if (!session.authEnabled) {
    return (
      <section class="browse narrow">
        <h1>Sign in</h1>
        <p>This registry has no accounts: everyone may see everything, nobody needs to sign in.</p>
        <Link href={next}>Continue</Link>
      </section>
    );
  }
  if (session.user) {
    return (
      <section class="browse narrow">
        <h1>Sign in</h1>
        <p>
          Signed in as <strong>{session.user.name}</strong>. <Link href={next}>Continue</Link>
        </p>
      </section>
    );
  }
  return (
    <section class="browse narrow">
      <h1>Sign in</h1>
      <form
        class="form"
        onSubmit={async (event) => {
          event.preventDefault();
          const data = new FormData(event.currentTarget);
          setBusy(true);
          setError(undefined);
          try {
            await signIn(String(data.get("username") ?? ""), String(data.get("password") ?? ""));
            navigate(next, { replace: true });
          } catch (err) {
            setError(err as Error);
          } finally {
            setBusy(false);
          }
        }}
      >
        <label>
          User name
          <input name="username" autocomplete="username" required />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" required />
        </label>
        {error && <ErrorBox error={error} />}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </section>
  );
}
