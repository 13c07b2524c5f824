import { useState } from "preact/hooks";
import { api } from "../../api";
import { Confirm } from "../../components/confirm";
import { Table } from "../../components/table";
import { Empty } from "../../components/status";
import type { Async } from "../../hooks";
import { AddForm, Choices, Field, Loaded, seg, useAdminList, When } from "./common";

/** GET /api/v1/trust/keys. */
interface TrustKey {
  name: string;
  fingerprint: string;
  publicKey: string;
  certificate: string | null;
  createdBy: string;
  createdAt: string;
}

/** GET /api/v1/trust/policies. */
interface TrustPolicy {
  name: string;
  repositories: string;
  keys: string[];
  mode: "warn" | "enforce";
  createdBy: string;
  createdAt: string;
}

function Keys({ list }: { list: Async<TrustKey[]> }) {
  const [name, setName] = useState("");
  const [publicKey, setPublicKey] = useState("");
  return (
    <>
      <h2>Keys</h2>
      <Loaded list={list}>
        {(keys) =>
          keys.length === 0 ? (
            <Empty>No trusted keys.</Empty>
          ) : (
            <Table
              caption="Trusted keys"
              rows={keys}
              rowKey={(k) => k.name}
              columns={[
                { header: "Name", cell: (k) => <strong>{k.name}</strong> },
                { header: "Fingerprint (SHA-256)", class: "wide", cell: (k) => <code>{k.fingerprint}</code> },
                { header: "By", cell: (k) => k.createdBy },
                { header: "Added", cell: (k) => <When iso={k.createdAt} /> },
                {
                  header: "",
                  cell: (k) => (
                    <Confirm
                      action={`Remove ${k.name}`}
                      danger
                      onConfirm={async () => {
                        await api.del(`/api/v1/trust/keys/${seg(k.name)}`);
                        list.reload();
                      }}
                    >
                      <p>
                        Remove trusted key <strong>{k.name}</strong>: signatures made with it no longer count
                        as verified, at once, on every node; policies naming it no longer accept it.
                      </p>
                    </Confirm>
                  ),
                },
              ]}
            />
          )
        }
      </Loaded>
      <AddForm title="Add a key">
        <Field label="Name" autocomplete="off" value={name} onValue={setName} />
        <label>
          <span>Public key (PEM)</span>
          <textarea
            rows={6}
            spellcheck={false}
            value={publicKey}
            placeholder="-----BEGIN PUBLIC KEY-----"
            onInput={(e) => setPublicKey(e.currentTarget.value)}
          />
        </label>
        <div>
          <Confirm
            action="Add key"
            onConfirm={async () => {
              await api.post("/api/v1/trust/keys", { name, publicKey });
              setName("");
              setPublicKey("");
              list.reload();
            }}
          >
            <p>
              Trust key <strong>{name || "(no name)"}</strong>: signatures it made count as verified from now
              on, on every node, and trust policies may name it.
            </p>
          </Confirm>
        </div>
      </AddForm>
    </>
  );
}

function Policies({ keys }: { keys: Async<TrustKey[]> }) {
  const list = useAdminList<TrustPolicy>("/api/v1/trust/policies", "policies");
  const [name, setName] = useState("");
  const [repositories, setRepositories] = useState("");
  const [chosen, setChosen] = useState<string[]>([]);
  const [mode, setMode] = useState<"warn" | "enforce">("warn");
  return (
    <>
      <h2>Policies</h2>
      <Loaded list={list}>
        {(policies) =>
          policies.length === 0 ? (
            <Empty>No trust policies: nothing needs a signature.</Empty>
          ) : (
            <Table
              caption="Trust policies"
              rows={policies}
              rowKey={(p) => p.name}
              columns={[
                { header: "Name", cell: (p) => <strong>{p.name}</strong> },
                { header: "Repositories", cell: (p) => <code>{p.repositories}</code> },
                { header: "Keys", cell: (p) => p.keys.join(", ") },
                {
                  header: "Mode",
                  cell: (p) => <span class={`badge ${p.mode === "enforce" ? "bad" : "warn"}`}>{p.mode}</span>,
                },
                { header: "Added", cell: (p) => <When iso={p.createdAt} /> },
                {
                  header: "",
                  cell: (p) => (
                    <Confirm
                      action={`Remove ${p.name}`}
                      danger
                      onConfirm={async () => {
                        await api.del(`/api/v1/trust/policies/${seg(p.name)}`);
                        list.reload();
                      }}
                    >
                      <p>
                        Remove trust policy <strong>{p.name}</strong>: artifacts in{" "}
                        <code>{p.repositories}</code> no longer need a signature by {p.keys.join(", ")}, at
                        once, on every node.
                      </p>
                    </Confirm>
                  ),
                },
              ]}
            />
          )
        }
      </Loaded>
      <AddForm title="Add a policy">
        <Field label="Name" autocomplete="off" value={name} onValue={setName} />
        <Field
          label="Repositories"
          autocomplete="off"
          value={repositories}
          onValue={setRepositories}
          hint="A repository glob: prod/**"
        />
        {keys.data && keys.data.length > 0 ? (
          <Choices legend="Keys" options={keys.data.map((k) => k.name)} value={chosen} onValue={setChosen} />
        ) : (
          <p class="muted">Add a key first: a policy names the keys whose signatures it accepts.</p>
        )}
        <label>
          <span>Mode</span>
          <select value={mode} onChange={(e) => setMode(e.currentTarget.value as "warn" | "enforce")}>
            <option value="warn">warn: unsigned pulls are served and reported</option>
            <option value="enforce">enforce: unsigned artifacts are refused</option>
          </select>
        </label>
        <div>
          <Confirm
            action="Add policy"
            onConfirm={async () => {
              await api.post("/api/v1/trust/policies", { name, repositories, keys: chosen, mode });
              setName("");
              setRepositories("");
              setChosen([]);
              list.reload();
            }}
          >
            <p>
              Add trust policy <strong>{name || "(no name)"}</strong>: artifacts in{" "}
              <code>{repositories || "(no repositories)"}</code> need a signature by{" "}
              {chosen.length ? chosen.join(" or ") : "(no keys)"};{" "}
              {mode === "enforce"
                ? "pulls of artifacts without one are refused, at once, on every node."
                : "artifacts without one are still served, with a warning."}
            </p>
          </Confirm>
        </div>
      </AddForm>
    </>
  );
}

export function TrustSection() {
  // One listing of the keys: the policy form offers the keys the key list shows.
  const keys = useAdminList<TrustKey>("/api/v1/trust/keys", "keys");
  return (
    <>
      <Keys list={keys} />
      <Policies keys={keys} />
    </>
  );
}
