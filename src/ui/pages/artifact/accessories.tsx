import { KindIcon } from "../../components/kind-icon";
import { ago, exactTime, shortDigest } from "../../format";
import { Link, paths } from "../../router";
import type { Accessory, ArtifactDetail, TrustedSignature, Verification } from "./types";

/** Kinds that sign their subject (src/oci/kinds/catalogue/supply-chain.ts). */
const SIGNATURE_KINDS = new Set(["cosign-signature", "sigstore-bundle", "notation-signature"]);
/** Accessory trees deeper than this are cut (a server answer is bounded; this bounds the page too). */
const MAX_DEPTH = 4;

/**
 * What refers to the artifact, by kind: signatures with whether a trusted key verified them, SBOMs and
 * attestations linking to their own pages, and what refers to those in turn when the API nests them.
 */
export function AccessoryTree({ artifact: a }: { artifact: ArtifactDetail }) {
  const groups = Object.entries(a.accessories ?? {}).filter(([, list]) => list.length > 0);
  return (
    <section aria-labelledby="accessories">
      <h2 id="accessories">Signatures, SBOMs and attestations</h2>
      {groups.length === 0 ? (
        <p class="muted">Nothing refers to this artifact.</p>
      ) : (
        <Groups groups={groups} repository={a.repository} trusted={a.signatures ?? []} depth={0} />
      )}
    </section>
  );
}

interface GroupsProps {
  groups: [string, Accessory[]][];
  repository: string;
  trusted: TrustedSignature[];
  depth: number;
}

function Groups({ groups, repository, trusted, depth }: GroupsProps) {
  return (
    <ul class={depth === 0 ? "tree" : "tree nested"}>
      {groups.map(([kind, list]) => (
        <li key={kind}>
          <span class="tree-kind">
            {list[0]?.kindTitle ?? kind} <span class="muted">({list.length})</span>
          </span>
          <ul>
            {list.map((item) => (
              <Item key={item.digest} item={item} repository={repository} trusted={trusted} depth={depth} />
            ))}
          </ul>
        </li>
      ))}
    </ul>
  );
}

function Item({
  item,
  repository,
  trusted,
  depth,
}: {
  item: Accessory;
  repository: string;
  trusted: TrustedSignature[];
  depth: number;
}) {
  const verification = verificationOf(item, trusted);
  const nested = Object.entries(item.accessories ?? {}).filter(([, list]) => list.length > 0);
  return (
    <li class="accessory">
      <div class="accessory-row">
        <KindIcon url={item.iconUrl} size={20} />
        <span class="accessory-kind">{item.kindTitle}</span>
        <Link href={paths.artifact(repository, `@${item.digest}`)} title={item.digest}>
          <code>{shortDigest(item.digest)}</code>
        </Link>
        {item.title && <span>{item.title}</span>}
        {item.pushedAt && (
          <time class="muted" title={exactTime(item.pushedAt)}>
            pushed {ago(item.pushedAt)}
          </time>
        )}
        {verification && <VerificationBadge verification={verification} />}
      </div>
      {nested.length > 0 && depth + 1 < MAX_DEPTH && (
        <Groups groups={nested} repository={repository} trusted={trusted} depth={depth + 1} />
      )}
    </li>
  );
}

/**
 * A signature's status: the server's `verification` when it gives one; from an older server, verified
 * when the artifact's trusted signatures name this one, else unverified.
 */
function verificationOf(item: Accessory, trusted: TrustedSignature[]): Verification | undefined {
  if (item.verification) return item.verification;
  if (!SIGNATURE_KINDS.has(item.kind)) return undefined;
  const match = trusted.find((s) => s.digest === item.digest);
  if (match) return { status: "verified", key: match.key, fingerprint: match.fingerprint };
  return { status: "unverified", reason: "no trusted key verified it" };
}

const STATUS: Record<Verification["status"], { label: string; class: string }> = {
  verified: { label: "verified", class: "ok" },
  unverified: { label: "unverified", class: "warn" },
  failed: { label: "failed", class: "bad" },
};

function VerificationBadge({ verification: v }: { verification: Verification }) {
  const status = STATUS[v.status] ?? STATUS.unverified;
  const fingerprint = v.fingerprint ? v.fingerprint.slice(0, 16) : undefined;
  return (
    <span class="verification">
      <span class={`badge ${status.class}`}>{status.label}</span>
      {v.key && (
        <span>
          key <strong>{v.key}</strong>
        </span>
      )}
      {fingerprint && (
        <code class="muted" title={v.fingerprint ?? ""}>
          {fingerprint}
        </code>
      )}
      {v.reason && v.status !== "verified" && <span class="muted">{v.reason}</span>}
    </span>
  );
}
