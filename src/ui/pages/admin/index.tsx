import { api, ApiError } from "../../api";
import { useAsync } from "../../hooks";
import { Link } from "../../router";
import { useSession } from "../../session";
import { ErrorBox, Spinner } from "../../components/status";
import { ADMIN_SECTIONS } from "./sections-list";

/** The sections, loaded once (the chunk is cached by the browser and by this promise). */
let sections: Promise<typeof import("./sections")> | undefined;
const loadSections = () => (sections ??= import("./sections"));

/**
 * Whether the caller administers, asked of the admin API itself (GET /api/v1/whoami) when the session
 * does not say: the API is the authority, and it also knows callers signed in without a session
 * (Basic credentials the browser sends).
 */
function useIsAdmin(): { loading: boolean; admin: boolean; error?: Error } {
  const session = useSession();
  const known = session.user !== null;
  const whoami = useAsync(async () => {
    if (session.loading || known) return null;
    try {
      return await api.get<{ admin?: boolean }>("/api/v1/whoami");
    } catch (err) {
      // Not signed in (401) or refused (403): not an administrator; anything else is shown.
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return { admin: false };
      throw err;
    }
  }, [session.loading, known]);
  if (session.loading) return { loading: true, admin: false };
  if (known) return { loading: false, admin: session.user?.admin === true };
  if (whoami.error) return { loading: false, admin: false, error: whoami.error };
  if (whoami.loading || !whoami.data) return { loading: true, admin: false };
  return { loading: false, admin: whoami.data.admin === true };
}

export function AdminPage({ section }: { section: string }) {
  const who = useIsAdmin();
  if (who.loading) return <Spinner />;
  if (!who.admin) {
    return (
      <section>
        <h1>Administration</h1>
        {who.error && <ErrorBox error={who.error} />}
        <p>
          This needs an administrator. <Link href="/sign-in">Sign in</Link> with an administrator's account.
        </p>
      </section>
    );
  }
  const current = ADMIN_SECTIONS.find((s) => s.id === section);
  const code = useAsync(loadSections, []);
  return (
    <div class="admin">
      <nav class="admin-nav" aria-label="Administration">
        {ADMIN_SECTIONS.map((s) => (
          <Link key={s.id} href={`/admin/${s.id}`} aria-current={s.id === section ? "page" : undefined}>
            {s.title}
          </Link>
        ))}
      </nav>
      <section class="admin-body">
        <h1>{current?.title ?? "Administration"}</h1>
        {current && <p class="muted">{current.intro}</p>}
        {code.error ? (
          <ErrorBox error={code.error} />
        ) : code.data ? (
          <code.data.Section id={current?.id ?? ""} />
        ) : (
          <Spinner />
        )}
      </section>
    </div>
  );
}
