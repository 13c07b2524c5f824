import { useState } from "preact/hooks";
import { api } from "../../api";
import { Confirm } from "../../components/confirm";
import { Table } from "../../components/table";
import { Empty } from "../../components/status";
import { AddForm, Choices, Field, Loaded, seg, useAdminList, When } from "./common";

/** GET /api/v1/access. */
interface Rule {
  id: string;
  subject: string;
  pattern: string;
  actions: string[];
  createdBy: string;
  createdAt: string;
}

const RULE_ACTIONS = ["pull", "push", "delete", "admin"] as const;

function whom(subject: string): string {
  if (subject === "anonymous") return "everyone, signed in or not,";
  if (subject === "authenticated") return "every signed-in user and robot";
  return subject || "(no subject)";
}

export function AccessSection() {
  const list = useAdminList<Rule>("/api/v1/access", "rules");
  const [subject, setSubject] = useState("");
  const [pattern, setPattern] = useState("");
  const [actions, setActions] = useState<string[]>(["pull"]);
  return (
    <>
      <Loaded list={list}>
        {(rules) =>
          rules.length === 0 ? (
            <Empty>No access rules: only administrators reach any repository.</Empty>
          ) : (
            <Table
              caption="Access rules"
              rows={rules}
              rowKey={(r) => r.id}
              columns={[
                { header: "Subject", cell: (r) => <code>{r.subject}</code> },
                { header: "Repositories", cell: (r) => <code>{r.pattern}</code> },
                { header: "Actions", cell: (r) => r.actions.join(", ") },
                { header: "By", cell: (r) => r.createdBy },
                { header: "Created", cell: (r) => <When iso={r.createdAt} /> },
                {
                  header: "",
                  cell: (r) => (
                    <Confirm
                      action="Remove rule"
                      danger
                      onConfirm={async () => {
                        await api.del(`/api/v1/access/${seg(r.id)}`);
                        list.reload();
                      }}
                    >
                      <p>
                        Remove the rule giving <strong>{whom(r.subject)}</strong> {r.actions.join(", ")} on{" "}
                        <code>{r.pattern}</code>: requests relying on it are refused at once, on every node
                        (unless another rule allows them).
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
        <Field
          label="Subject"
          autocomplete="off"
          value={subject}
          onValue={setSubject}
          hint="anonymous, authenticated, user:NAME or robot:NAME"
        />
        <Field
          label="Repositories"
          autocomplete="off"
          value={pattern}
          onValue={setPattern}
          hint="A repository glob: team-a/**, public/*, **"
        />
        <Choices legend="Actions" options={RULE_ACTIONS} value={actions} onValue={setActions} />
        <div>
          <Confirm
            action="Add rule"
            onConfirm={async () => {
              await api.post("/api/v1/access", { subject, pattern, actions });
              setSubject("");
              setPattern("");
              list.reload();
            }}
          >
            <p>
              Let <strong>{whom(subject)}</strong> {actions.length ? actions.join(", ") : "(no actions)"} on{" "}
              <code>{pattern || "(no repositories)"}</code>, at once, on every node.
            </p>
          </Confirm>
        </div>
      </AddForm>
    </>
  );
}
