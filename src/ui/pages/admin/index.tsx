import { useAsync } from "../../hooks";
import { Link } from "../../router";
import { useSession } from "../../session";
import { ErrorBox, Spinner } from "../../components/status";
import { ADMIN_SECTIONS } from "./sections-list";

/** The sections, loaded once (the chunk is cached by the browser and by this promise). */
let sections: Promise<typeof import("./sections")> | undefined;
const loadSections = () => (sections ??= import("./sections"));

/** Administrators only (the admin API refuses everyone else anyway: this spares them the errors). */
export function AdminPage({ section }: { section: string }) {
  const session = useSession();
  if (session.loading) return <Spinner />;
  if (!session.user?.admin) {
    return (
      <section>
        <h1>Administration</h1>
        <p>
          This needs an administrator. <Link href="/sign-in">Sign in</Link> with an administrator's account.
        </p>
      </section>
    );
  }
  return <Administration section={section} />;
}

function Administration({ section }: { section: string }) {
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
