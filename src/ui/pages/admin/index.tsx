import { api, ApiError } from "../../api";
import { useAsync } from "../../hooks";
import { Link } from "../../router";
import { useSession } from "../../session";
import { ErrorBox, Spinner } from "../../components/status";
import { UsersSection } from "./users";
import { TokensSection } from "./tokens";
import { AccessSection } from "./access";
import { ImmutableSection } from "./immutable";
import { TrustSection } from "./trust";
import { RetentionSection } from "./retention";
import { QuotasSection } from "./quotas";
import { GcSection } from "./gc";
import { AuditSection } from "./audit";
import "./admin.css";

/** The administration sections, each a page of its own under /admin/SECTION. */
export const ADMIN_SECTIONS: { id: string; title: string; intro: string }[] = [
  { id: "users", title: "Users", intro: "People who sign in, and who of them administers." },
  { id: "tokens", title: "Robot tokens", intro: "Scoped, expiring credentials for CI and automation." },
  {
    id: "access",
    title: "Access rules",
    intro: "Who may pull, push, delete or administer which repositories.",
  },
  {
    id: "immutable",
    title: "Immutable tags",
    intro: "Tags that, once pushed, never move and are never deleted.",
  },
  {
    id: "trust",
    title: "Trust",
    intro: "Keys signatures are verified with, and where signatures are required.",
  },
  { id: "retention", title: "Retention", intro: "Which tags policies keep, and removing the others." },
  {
    id: "quotas",
    title: "Quotas",
    intro: "How many bytes a namespace may hold, and what each repository holds.",
  },
  { id: "gc", title: "Garbage collection", intro: "Removing what no tag or manifest needs any more." },
  { id: "audit", title: "Audit log", intro: "Who did what, when, from where." },
];

function Section({ id }: { id: string }) {
  switch (id) {
    case "users":
      return <UsersSection />;
    case "tokens":
      return <TokensSection />;
    case "access":
      return <AccessSection />;
    case "immutable":
      return <ImmutableSection />;
    case "trust":
      return <TrustSection />;
    case "retention":
      return <RetentionSection />;
    case "quotas":
      return <QuotasSection />;
    case "gc":
      return <GcSection />;
    case "audit":
      return <AuditSection />;
    default:
      return (
        <ul class="admin-index">
          {ADMIN_SECTIONS.map((s) => (
            <li key={s.id}>
              <Link href={`/admin/${s.id}`}>{s.title}</Link>: {s.intro}
            </li>
          ))}
        </ul>
      );
  }
}

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
        <Section id={current?.id ?? ""} />
      </section>
    </div>
  );
}
