import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import type { TrustKeyDto, TrustPolicyDto } from "../../../api/trust.js";
import { UsageError } from "../../../client/errors.js";
import { withLocalTrust } from "../../trust-local.js";
import { collect, examples, runCommand, type Context } from "../common/context.js";
import { table } from "../common/format.js";
import { AdminApi } from "./api.js";
import { targetsDatabase, withAdminTarget, type AdminTargetOptions } from "./target.js";

type Options = AdminTargetOptions;

/** A registry's trusted keys and policies: its admin API, or its database with --data-dir/--server-config. */
export interface TrustAdmin {
  listKeys(): Promise<TrustKeyDto[]>;
  addKey(name: string, publicKey: string): Promise<TrustKeyDto>;
  removeKey(name: string): Promise<void>;
  listPolicies(): Promise<TrustPolicyDto[]>;
  addPolicy(policy: {
    name: string;
    repositories: string;
    keys: string[];
    mode: string;
  }): Promise<TrustPolicyDto>;
  removePolicy(name: string): Promise<void>;
}

const MAX_KEY_FILE_BYTES = 64 * 1024;

async function trustFor(
  ctx: Context,
  options: Options,
  work: (trust: TrustAdmin) => Promise<void>,
): Promise<void> {
  if (targetsDatabase(options)) return withLocalTrust(options, work);
  const api = AdminApi.for(ctx, options);
  const path = (kind: string, name?: string) =>
    `/trust/${kind}${name === undefined ? "" : `/${encodeURIComponent(name)}`}`;
  return work({
    listKeys: async () => (await api.call<{ keys: TrustKeyDto[] }>("GET", path("keys"))).keys,
    addKey: (name, publicKey) => api.call<TrustKeyDto>("POST", path("keys"), { name, publicKey }),
    removeKey: (name) => api.call("DELETE", path("keys", name)),
    listPolicies: async () =>
      (await api.call<{ policies: TrustPolicyDto[] }>("GET", path("policies"))).policies,
    addPolicy: (policy) => api.call<TrustPolicyDto>("POST", path("policies"), policy),
    removePolicy: (name) => api.call("DELETE", path("policies", name)),
  });
}

async function readKeyFile(file: string): Promise<string> {
  let text: Buffer;
  try {
    text = await readFile(file);
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (text.length > MAX_KEY_FILE_BYTES)
    throw new UsageError(`${file} is not a public key file: larger than 64 KiB`);
  return text.toString("utf8");
}

export function registerTrust(program: Command): void {
  const trust = program
    .command("trust")
    .description(
      "Trusted signing keys and trust policies: which keys must have signed what a repository serves",
    );
  examples(trust, [
    "wharf trust key add ci cosign.pub --registry registry.example.com",
    "wharf trust policy add prod --repositories 'prod/**' --key ci --mode enforce",
    "wharf trust key ls",
    "wharf trust policy ls --json",
  ]);
  registerKeys(trust);
  registerPolicies(trust);
}

function registerKeys(trust: Command): void {
  const key = trust.command("key").description("Public keys whose signatures the registry trusts");

  const ls = withAdminTarget(key.command("ls", { isDefault: true }).description("List the trusted keys"));
  ls.action(async (options: Options) => {
    await runCommand(options, async (ctx) => {
      await trustFor(ctx, options, async (api) => {
        const keys = await api.listKeys();
        if (ctx.json) return ctx.printJson(keys);
        ctx.print(
          table([
            ["NAME", "FINGERPRINT", "FROM", "ADDED", "BY"],
            ...keys.map((k) => [
              k.name,
              k.fingerprint.slice(0, 16),
              k.certificate ? "certificate" : "public key",
              k.createdAt.slice(0, 10),
              k.createdBy,
            ]),
          ]),
        );
      });
    });
  });

  const add = withAdminTarget(
    key
      .command("add")
      .description("Trust a public key (PKIX PEM such as cosign.pub, or an X.509 certificate for Notation)")
      .argument("<name>", "the key's name (policies and listings name it), e.g. ci")
      .argument("<file>", "the public key or certificate file (PEM)"),
  );
  examples(add, ["wharf trust key add ci cosign.pub", "wharf trust key add release release-ca.pem"]);
  add.action(async (name: string, file: string, options: Options) => {
    await runCommand(options, async (ctx) => {
      const pem = await readKeyFile(file);
      await trustFor(ctx, options, async (api) => {
        const added = await api.addKey(name, pem);
        if (ctx.json) return ctx.printJson(added);
        ctx.print(added.name);
        ctx.note(`Trusted key ${added.name} (sha256:${added.fingerprint}); signatures it made now count`);
      });
    });
  });

  const rm = withAdminTarget(
    key
      .command("rm")
      .description("Stop trusting a key: its signatures no longer count, at once, on every node")
      .argument("<name>", "the key's name (see wharf trust key ls)"),
  );
  rm.action(async (name: string, options: Options) => {
    await runCommand(options, async (ctx) => {
      await trustFor(ctx, options, async (api) => {
        await api.removeKey(name);
        const naming = (await api.listPolicies()).filter((p) => p.keys.includes(name)).map((p) => p.name);
        if (ctx.json) return ctx.printJson({ removed: name, policies: naming });
        ctx.note(`Removed key ${name}`);
        if (naming.length > 0) {
          ctx.note(
            `Policies still naming it: ${naming.join(", ")}; what only ${name} signed no longer satisfies them`,
          );
        }
      });
    });
  });
}

function registerPolicies(trust: Command): void {
  const policy = trust
    .command("policy")
    .description(
      "Which keys must have signed the artifacts of which repositories, and whether to refuse or warn",
    );

  const ls = withAdminTarget(
    policy.command("ls", { isDefault: true }).description("List the trust policies"),
  );
  ls.action(async (options: Options) => {
    await runCommand(options, async (ctx) => {
      await trustFor(ctx, options, async (api) => {
        const policies = await api.listPolicies();
        if (ctx.json) return ctx.printJson(policies);
        ctx.print(
          table([
            ["NAME", "REPOSITORIES", "KEYS", "MODE", "BY"],
            ...policies.map((p) => [p.name, p.repositories, p.keys.join(","), p.mode, p.createdBy]),
          ]),
        );
      });
    });
  });

  const add = withAdminTarget(
    policy
      .command("add")
      .description(
        "Require a signature by one of the keys on every artifact pulled from matching repositories",
      )
      .argument("<name>", "the policy's name (refusals name it), e.g. prod")
      .requiredOption("--repositories <glob>", "repository glob, e.g. 'prod/**' or '**'")
      .requiredOption(
        "--key <name>",
        "a trusted key whose signature satisfies the policy; repeatable",
        collect,
        [],
      )
      .requiredOption(
        "--mode <mode>",
        "enforce: refuse pulls of unsigned artifacts (403 DENIED); warn: serve them with a Warning header, audited",
      ),
  );
  examples(add, [
    "wharf trust policy add prod --repositories 'prod/**' --key ci --key release --mode enforce",
    "wharf trust policy add staging --repositories 'staging/**' --key ci --mode warn",
  ]);
  add.action(
    async (name: string, options: Options & { repositories: string; key: string[]; mode: string }) => {
      await runCommand(options, async (ctx) => {
        if (options.key.length === 0)
          throw new UsageError("give at least one --key NAME (see wharf trust key ls)");
        if (options.mode !== "warn" && options.mode !== "enforce") {
          throw new UsageError(`--mode ${options.mode}: use warn or enforce`);
        }
        await trustFor(ctx, options, async (api) => {
          const added = await api.addPolicy({
            name,
            repositories: options.repositories,
            keys: options.key,
            mode: options.mode,
          });
          if (ctx.json) return ctx.printJson(added);
          ctx.print(added.name);
          const effect = added.mode === "enforce" ? "refused" : "served with a warning";
          ctx.note(
            `Pulls from ${added.repositories} of artifacts not signed by ${added.keys.join(" or ")} are now ${effect}`,
          );
        });
      });
    },
  );

  const rm = withAdminTarget(
    policy
      .command("rm")
      .description("Remove a trust policy")
      .argument("<name>", "the policy's name (see wharf trust policy ls)"),
  );
  rm.action(async (name: string, options: Options) => {
    await runCommand(options, async (ctx) => {
      await trustFor(ctx, options, async (api) => {
        await api.removePolicy(name);
        if (ctx.json) return ctx.printJson({ removed: name });
        ctx.note(`Removed policy ${name}`);
      });
    });
  });
}
