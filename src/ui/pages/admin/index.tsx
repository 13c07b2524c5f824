import { Link } from "../../router";
import { useSession } from "../../session";

/** The administration sections, each a page of its own under /admin/SECTION. */
export const ADMIN_SECTIONS: { id: string; title: string }[] = [
  { id: "users", title: "Users" },
  { id: "tokens", title: "Robot tokens" },
  { id: "access", title: "Access rules" },
  { id: "immutable", title: "Immutable tags" },
  { id: "trust", title: "Trust" },
  { id: "retention", title: "Retention" },
  { id: "quotas", title: "Quotas" },
  { id: "gc", title: "Garbage collection" },
  { id: "audit", title: "Audit log" },
];

export function AdminPage({ section }: { section: string }) {
  const session = useSession();
  if (!session.loading && !session.user?.admin) {
    return (
      <section>
        <h1>Administration</h1>
        <p>
          This needs an administrator. <Link href="/sign-in">Sign in</Link>
        </p>
      </section>
    );
  }
  return (
    <div class="admin">
      <nav class="admin-nav" aria-label="Administration">
        {ADMIN_SECTIONS.map((s) => (
          <Link href={`/admin/${s.id}`} aria-current={s.id === section ? "page" : undefined}>
            {s.title}
          </Link>
        ))}
      </nav>
      <section class="admin-body">
        <h1>{ADMIN_SECTIONS.find((s) => s.id === section)?.title ?? "Administration"}</h1>
      </section>
    </div>
  );
}
