import { Fragment } from "preact";
import { api, ApiError } from "../../api";
import { CopyButton, CopyCommand } from "../../components/copy-button";
import { KindIcon } from "../../components/kind-icon";
import { ErrorBox, Spinner } from "../../components/status";
import { ago, exactTime } from "../../format";
import { useAsync } from "../../hooks";
import { Link, paths } from "../../router";
import { useSession } from "../../session";
import { AccessoryTree } from "./accessories";
import { Contents } from "./contents";
import { FilesSection } from "./files";
import { ManifestSection } from "./manifest";
import type { ArtifactDetail, Facts } from "./types";
import "./artifact.css";

/** `/a/NAME@DIGEST` or `/a/NAME:TAG`: one artifact, everything the discovery API tells of it. */
export function ArtifactPage({ repository, reference }: { repository: string; reference: string }) {
  const detail = useAsync(
    () => api.get<ArtifactDetail>(`/api/v1/artifacts/${repository}${reference}`),
    [repository, reference],
  );
  const title = `${repository}${reference}`;
  if (detail.error) return <Missing title={title} repository={repository} error={detail.error} />;
  if (!detail.data || detail.data.repository !== repository) return <Spinner label={`Loading ${title}…`} />;
  const a = detail.data;
  return (
    <article class="artifact">
      <div class="artifact-overview">
        <Header artifact={a} reference={reference} />
        <FactList facts={a.facts} />
      </div>
      {a.actions && a.actions.length > 0 && (
        <section aria-labelledby="actions">
          <h2 id="actions">Use it</h2>
          <ul class="actions">
            {a.actions.map((action) => (
              <li key={action.command}>
                <span class="action-label">{action.label}</span>
                <CopyCommand command={action.command} />
              </li>
            ))}
          </ul>
        </section>
      )}
      <AccessoryTree artifact={a} />
      <Contents artifact={a} />
      {(a.layers?.length ?? 0) > 0 && <FilesSection artifact={a} />}
      <ManifestSection artifact={a} />
    </article>
  );
}

function Header({ artifact: a, reference }: { artifact: ArtifactDetail; reference: string }) {
  return (
    <header class="artifact-head">
      <p class="artifact-kind">
        <KindIcon url={a.kind.iconUrl} size={32} />
        <span>{a.kind.title}</span>
        {a.signed ? <span class="badge ok">{signedBy(a)}</span> : <span class="badge">Not signed</span>}
      </p>
      <h1>
        <Link href={paths.repository(a.repository)}>{a.repository}</Link>
        <span class="reference">{reference.startsWith("@") ? `@${a.digest}` : reference}</span>
      </h1>
      <dl class="facts">
        <dt>Digest</dt>
        <dd class="digest">
          <code>{a.digest}</code>
          <CopyButton text={a.digest} label="Copy digest" />
        </dd>
        <dt>Tags</dt>
        <dd>
          {a.tags.length === 0 ? (
            <span class="muted">none</span>
          ) : (
            <ul class="tags">
              {a.tags.map((tag) => (
                <li key={tag}>
                  <Link href={paths.artifact(a.repository, `:${tag}`)}>{tag}</Link>
                </li>
              ))}
            </ul>
          )}
        </dd>
        <dt>Pushed</dt>
        <dd>
          <time title={exactTime(a.pushedAt)}>{ago(a.pushedAt)}</time>
        </dd>
        <dt>Pulled</dt>
        <dd>
          <time title={exactTime(a.lastPulled)}>{ago(a.lastPulled)}</time>
          {a.pullCount !== undefined && a.pullCount > 0 && (
            <span class="muted"> ({a.pullCount === 1 ? "1 pull" : `${a.pullCount} pulls`})</span>
          )}
        </dd>
        {a.subject && (
          <>
            <dt>Refers to</dt>
            <dd>
              <Link href={paths.artifact(a.repository, `@${a.subject}`)}>
                <code>{a.subject}</code>
              </Link>
            </dd>
          </>
        )}
      </dl>
    </header>
  );
}

/** "Signed by ci, release": the trusted keys whose signatures verified (the API lists a few). */
function signedBy(a: ArtifactDetail): string {
  const keys = [...new Set((a.signatures ?? []).map((s) => s.key))];
  return keys.length > 0 ? `Signed by ${keys.join(", ")}` : "Signed";
}

const FACTS: [keyof Facts, string][] = [
  ["title", "Title"],
  ["description", "Description"],
  ["version", "Version"],
  ["source", "Source"],
  ["revision", "Revision"],
  ["licenses", "Licenses"],
  ["created", "Created"],
];

/** The facts extracted at push, only those the artifact has. */
function FactList({ facts }: { facts: Facts }) {
  const present = FACTS.filter(([key]) => typeof facts[key] === "string" && facts[key] !== "");
  if (present.length === 0) return null;
  return (
    <section aria-labelledby="facts">
      <h2 id="facts">About</h2>
      <dl class="facts">
        {present.map(([key, label]) => {
          const value = facts[key] as string;
          return (
            <Fragment key={key}>
              <dt>{label}</dt>
              <dd>
                {key === "source" && /^https?:\/\//.test(value) ? (
                  <a href={value} rel="noopener noreferrer">
                    {value}
                  </a>
                ) : key === "created" ? (
                  <time title={value}>{exactTime(value)}</time>
                ) : key === "revision" ? (
                  <code>{value}</code>
                ) : (
                  value
                )}
              </dd>
            </Fragment>
          );
        })}
      </dl>
    </section>
  );
}

/** Not there, or not for this caller (the API answers both alike, so as not to tell which). */
function Missing({ title, repository, error }: { title: string; repository: string; error: Error }) {
  const session = useSession();
  const api = error instanceof ApiError ? error : undefined;
  const hidden = api !== undefined && [401, 403, 404].includes(api.status);
  return (
    <section>
      <h1>{hidden ? "Artifact not found" : "The artifact could not be loaded"}</h1>
      {hidden ? (
        <p>
          There is no artifact <code>{title}</code>
          {api?.status === 404 ? ", or you may not pull it" : " you may pull"}.{" "}
          {session.authEnabled && !session.user && (
            <>
              <Link href="/sign-in">Sign in</Link> to see private repositories.{" "}
            </>
          )}
          <Link href={paths.repository(repository)}>See the repository</Link>.
        </p>
      ) : (
        <ErrorBox error={error} />
      )}
    </section>
  );
}
