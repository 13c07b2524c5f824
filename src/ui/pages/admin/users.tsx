import { useState } from "preact/hooks";
import { api } from "../../api";
import { Confirm } from "../../components/confirm";
import { Table } from "../../components/table";
import { Empty } from "../../components/status";
import { AddForm, Field, Loaded, seg, useAdminList, When } from "./common";

/** GET /api/v1/users; lastUsedAt and locked are shown when the server gives them (older ones do not). */
interface User {
  name: string;
  admin: boolean;
  createdAt: string;
  lastUsedAt?: string | null;
  locked?: boolean;
}

function ResetPassword({ user, onDone }: { user: string; onDone(): void }) {
  const [password, setPassword] = useState("");
  return (
    <div class="inline-form">
      <Field
        label={`New password for ${user}`}
        type="password"
        autocomplete="new-password"
        value={password}
        onValue={setPassword}
      />
      <Confirm
        action="Set password"
        disabled={password === ""}
        onConfirm={async () => {
          await api.put(`/api/v1/users/${seg(user)}/password`, { password });
          setPassword("");
          onDone();
        }}
      >
        <p>
          Set a new password for <strong>{user}</strong>: the old one is refused from now on and their web UI
          sessions end, on every node.
        </p>
      </Confirm>
    </div>
  );
}

export function UsersSection() {
  const list = useAdminList<User>("/api/v1/users", "users");
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [admin, setAdmin] = useState(false);
  const [resetting, setResetting] = useState<string | null>(null);
  return (
    <>
      <Loaded list={list}>
        {(users) =>
          users.length === 0 ? (
            <Empty>No users.</Empty>
          ) : (
            <Table
              caption="Users"
              rows={users}
              rowKey={(u) => u.name}
              columns={[
                { header: "Name", cell: (u) => <strong>{u.name}</strong> },
                { header: "Role", cell: (u) => (u.admin ? <span class="badge ok">admin</span> : "user") },
                { header: "Created", cell: (u) => <When iso={u.createdAt} /> },
                {
                  header: "Last used",
                  cell: (u) => (u.lastUsedAt === undefined ? "—" : <When iso={u.lastUsedAt} />),
                },
                {
                  header: "Locked",
                  cell: (u) =>
                    u.locked === undefined ? "—" : u.locked ? <span class="badge bad">locked</span> : "no",
                },
                {
                  header: "Actions",
                  class: "wide",
                  cell: (u) => (
                    <div class="row-actions">
                      <button
                        type="button"
                        aria-expanded={resetting === u.name}
                        onClick={() => setResetting(resetting === u.name ? null : u.name)}
                      >
                        Reset password
                      </button>
                      <Confirm
                        action={`Remove ${u.name}`}
                        danger
                        onConfirm={async () => {
                          await api.del(`/api/v1/users/${seg(u.name)}`);
                          list.reload();
                        }}
                      >
                        <p>
                          Remove user <strong>{u.name}</strong>: they can no longer sign in, their credentials
                          are refused at once, on every node, and the access rules for user:{u.name} are
                          deleted with them. The last administrator cannot be removed.
                        </p>
                      </Confirm>
                      {resetting === u.name && (
                        <ResetPassword user={u.name} onDone={() => setResetting(null)} />
                      )}
                    </div>
                  ),
                },
              ]}
            />
          )
        }
      </Loaded>
      <AddForm title="Add a user">
        <Field label="Name" autocomplete="off" value={name} onValue={setName} />
        <Field
          label="Password"
          type="password"
          autocomplete="new-password"
          value={password}
          onValue={setPassword}
        />
        <label class="choice">
          <input type="checkbox" checked={admin} onChange={(e) => setAdmin(e.currentTarget.checked)} />
          Administrator
        </label>
        <div>
          <Confirm
            action="Add user"
            onConfirm={async () => {
              await api.post("/api/v1/users", { name, password, admin });
              setName("");
              setPassword("");
              setAdmin(false);
              list.reload();
            }}
          >
            <p>
              Add user <strong>{name || "(no name)"}</strong>
              {admin ? ", an administrator" : ""}: they can sign in with this password at once
              {admin
                ? " and manage everything here: users, tokens, rules, retention and garbage collection."
                : "; what they may pull or push is what the access rules give them."}
            </p>
          </Confirm>
        </div>
      </AddForm>
    </>
  );
}
