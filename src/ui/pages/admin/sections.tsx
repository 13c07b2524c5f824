import { Link } from "../../router";
import { UsersSection } from "./users";
import { TokensSection } from "./tokens";
import { AccessSection } from "./access";
import { ImmutableSection } from "./immutable";
import { TrustSection } from "./trust";
import { RetentionSection } from "./retention";
import { QuotasSection } from "./quotas";
import { GcSection } from "./gc";
import { AuditSection } from "./audit";
import { ADMIN_SECTIONS } from "./sections-list";
import "./admin.css";

/**
 * The sections' code, loaded only when an administrator opens the administration (a chunk of its
 * own: the first page load of everyone else does not carry it).
 */
export function Section({ id }: { id: string }) {
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
