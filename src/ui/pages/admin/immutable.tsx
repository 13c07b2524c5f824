import { useState } from "preact/hooks";
import { api } from "../../api";
import { Confirm } from "../../components/confirm";
import { Table } from "../../components/table";
import { Empty } from "../../components/status";
import { AddForm, Field, Loaded, seg, useAdminList, When } from "./common";

/** GET /api/v1/immutable. */
interface ImmutableRule {
  name: string;
  repositories: string;
  tags: string;
  kind: "glob" | "regex" | "semver";
  createdBy: string;
  createdAt: string;
}

const KINDS = ["glob", "regex", "semver"] as const;

export function ImmutableSection() {
  const list = useAdminList<ImmutableRule>("/api/v1/immutable", "rules");
  const [name, setName] = useState("");
  const [repositories, setRepositories] = useState("");
  const [tags, setTags] = useState("");
  const [kind, setKind] = useState<string>("glob");
  return (
    <>
      <Loaded list={list}>
        {(rules) =>
          rules.length === 0 ? (
            <Empty>No immutability rules: every tag can be moved or deleted by those allowed to push.</Empty>
          ) : (
            <Table
              caption="Immutability rules"
              rows={rules}
              rowKey={(r) => r.name}
              columns={[
                { header: "Name", cell: (r) => <strong>{r.name}</strong> },
                { header: "Repositories", cell: (r) => <code>{r.repositories}</code> },
                { header: "Tags", cell: (r) => <code>{r.tags}</code> },
                { header: "Kind", cell: (r) => r.kind },
                { header: "By", cell: (r) => r.createdBy },
                { header: "Created", cell: (r) => <When iso={r.createdAt} /> },
                {
                  header: "",
                  cell: (r) => (
                    <Confirm
                      action={`Remove ${r.name}`}
                      danger
                      onConfirm={async () => {
                        await api.del(`/api/v1/immutable/${seg(r.name)}`);
                        list.reload();
                      }}
                    >
                      <p>
                        Remove immutability rule <strong>{r.name}</strong>: tags matching{" "}
                        <code>{r.tags}</code> in <code>{r.repositories}</code> can be moved and deleted again,
                        at once, on every node (unless another rule protects them).
                      </p>
                    </Confirm>
                  ),
                },
              ]}
            />
          )
        }
      </Loaded>
      <AddForm title="Add a rule">
        <Field label="Name" autocomplete="off" value={name} onValue={setName} />
        <Field
          label="Repositories"
          autocomplete="off"
          value={repositories}
          onValue={setRepositories}
          hint="A repository glob: team-a/**, **"
        />
        <label>
          <span>Kind</span>
          <select value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <Field
          label="Tags"
          autocomplete="off"
          value={tags}
          onValue={setTags}
          hint="A tag glob (v*), a regular expression, or semver (every semantic version tag)"
        />
        <div>
          <Confirm
            action="Add rule"
            onConfirm={async () => {
              await api.post("/api/v1/immutable", { name, repositories, tags, kind });
              setName("");
              setRepositories("");
              setTags("");
              list.reload();
            }}
          >
            <p>
              Add immutability rule <strong>{name || "(no name)"}</strong>: from now on, on every node, tags
              matching the {kind} <code>{tags || "(no tags)"}</code> in{" "}
              <code>{repositories || "(no repositories)"}</code> can be pushed once and then never moved or
              deleted, by anyone, until the rule is removed.
            </p>
          </Confirm>
        </div>
      </AddForm>
    </>
  );
}
