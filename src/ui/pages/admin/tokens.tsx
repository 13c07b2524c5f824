import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../../api";
import { Confirm } from "../../components/confirm";
import { CopyButton } from "../../components/copy-button";
import { Table } from "../../components/table";
import { Empty } from "../../components/status";
import { AddForm, Choices, durationMs, Field, Loaded, seg, useAdminList, When, words } from "./common";

/** GET /api/v1/tokens: never the secrets. */
interface Robot {
  name: string;
  repositories: string[];
  actions: string[];
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  createdBy: string;
  createdAt: string;
}

const TOKEN_ACTIONS = ["pull", "push", "delete"] as const;

function state(robot: Robot): { text: string; tone: string } {
  if (robot.revokedAt) return { text: "revoked", tone: "bad" };
  if (robot.expiresAt && Date.parse(robot.expiresAt) <= Date.now()) return { text: "expired", tone: "warn" };
  return { text: "active", tone: "ok" };
}

/**
 * The secret of a token just created. It lives only in this component's state: leaving the page
 * unmounts it and the secret is gone from the page (the server keeps only its hash).
 */
function Secret({ name, secret, onDismiss }: { name: string; secret: string; onDismiss(): void }) {
  const box = useRef<HTMLDivElement>(null);
  // Shown above a list that may be long: brought into view and focused, so nobody misses it.
  // After the confirmation dialog has closed and handed focus back to its button.
  useEffect(() => {
    const timer = setTimeout(() => {
      box.current?.scrollIntoView({ block: "center" });
      box.current?.focus();
    }, 50);
    return () => clearTimeout(timer);
  }, [secret]);
  // Not brought back by the back/forward cache after the admin left the site.
  useEffect(() => {
    window.addEventListener("pagehide", onDismiss);
    return () => window.removeEventListener("pagehide", onDismiss);
  }, [onDismiss]);
  return (
    <div class="secret-box" role="region" aria-label={`Secret of ${name}`} ref={box} tabIndex={-1}>
      <p>
        <strong>Copy the secret of {name} now: it will not be shown again.</strong> Log in with the name{" "}
        <code>{name}</code> and this secret as the password (docker login, wharf login, helm registry login).
      </p>
      <div class="command">
        <code class="secret">{secret}</code>
        <CopyButton text={secret} label={`Copy secret of ${name}`} sensitive />
      </div>
      <button type="button" onClick={onDismiss}>
        I have copied it
      </button>
    </div>
  );
}

export function TokensSection() {
  const list = useAdminList<Robot>("/api/v1/tokens", "tokens");
  const [name, setName] = useState("");
  const [repositories, setRepositories] = useState("");
  const [actions, setActions] = useState<string[]>(["pull"]);
  const [expires, setExpires] = useState("90d");
  const [created, setCreated] = useState<{ name: string; secret: string } | null>(null);
  const never = expires.trim() === "never";
  const lifetime = never ? undefined : durationMs(expires);
  const expiryError =
    never || lifetime !== undefined ? undefined : "Use a duration such as 30d, 12h or 2w, or never.";
  const patterns = words(repositories);
  return (
    <>
      {created && <Secret {...created} onDismiss={() => setCreated(null)} />}
      <Loaded list={list}>
        {(tokens) =>
          tokens.length === 0 ? (
            <Empty>No robot tokens.</Empty>
          ) : (
            <Table
              caption="Robot tokens"
              rows={tokens}
              rowKey={(t) => t.name}
              columns={[
                { header: "Name", cell: (t) => <strong>{t.name}</strong> },
                {
                  header: "Repositories",
                  cell: (t) => (
                    <span class="list">
                      {t.repositories.map((r) => (
                        <code key={r}>{r}</code>
                      ))}
                    </span>
                  ),
                },
                { header: "Actions", cell: (t) => t.actions.join(", ") },
                { header: "Created", cell: (t) => <When iso={t.createdAt} /> },
                {
                  header: "Expires",
                  cell: (t) => (t.expiresAt ? <When iso={t.expiresAt} /> : "never"),
                },
                { header: "Last used", cell: (t) => <When iso={t.lastUsedAt} /> },
                {
                  header: "State",
                  cell: (t) => {
                    const s = state(t);
                    return <span class={`badge ${s.tone}`}>{s.text}</span>;
                  },
                },
                {
                  header: "",
                  cell: (t) =>
                    t.revokedAt ? null : (
                      <Confirm
                        action={`Revoke ${t.name}`}
                        danger
                        onConfirm={async () => {
                          await api.del(`/api/v1/tokens/${seg(t.name)}`);
                          list.reload();
                        }}
                      >
                        <p>
                          Revoke robot token <strong>{t.name}</strong>: clients using it are refused at once,
                          on every node. This cannot be undone; create a new token to give access again.
                        </p>
                      </Confirm>
                    ),
                },
              ]}
            />
          )
        }
      </Loaded>
      <AddForm title="Create a robot token">
        <Field
          label="Name"
          autocomplete="off"
          value={name}
          onValue={setName}
          hint="Its username for docker, helm or wharf login."
        />
        <Field
          label="Repositories"
          autocomplete="off"
          value={repositories}
          onValue={setRepositories}
          hint="Repository globs it may use, separated by spaces or commas: team-a/** charts/*"
        />
        <Choices legend="Actions" options={TOKEN_ACTIONS} value={actions} onValue={setActions} />
        <Field
          label="Expires after"
          autocomplete="off"
          value={expires}
          onValue={setExpires}
          aria-invalid={expiryError ? "true" : undefined}
          hint={expiryError ?? "A lifetime such as 30d, 12h or 2w, or never."}
        />
        <div>
          <Confirm
            action="Create token"
            disabled={expiryError !== undefined}
            onConfirm={async () => {
              const expiresAt = lifetime === undefined ? null : new Date(Date.now() + lifetime).toISOString();
              const answer = await api.post<Robot & { secret: string }>("/api/v1/tokens", {
                name,
                repositories: patterns,
                actions,
                expiresAt,
              });
              setCreated({ name: answer.name, secret: answer.secret });
              setName("");
              setRepositories("");
              list.reload();
            }}
          >
            <p>
              Create robot token <strong>{name || "(no name)"}</strong>: it may{" "}
              {actions.length ? actions.join(", ") : "do nothing"} on{" "}
              {patterns.length ? patterns.join(", ") : "(no repositories)"},{" "}
              {never ? "and never expires" : `until ${expires.trim()} from now`}. Its secret is shown once,
              next; anyone holding it can use the token until it expires or is revoked.
            </p>
          </Confirm>
        </div>
      </AddForm>
    </>
  );
}
