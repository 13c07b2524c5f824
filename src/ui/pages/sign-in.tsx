import { useState } from "preact/hooks";
import { ErrorBox } from "../components/status";
import { navigate } from "../router";
import { signIn } from "../session";

export function SignInPage() {
  const [error, setError] = useState<Error | undefined>();
  const [busy, setBusy] = useState(false);
  return (
    <section class="narrow">
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
            navigate("/");
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
