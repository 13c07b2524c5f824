import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { parseAllDocuments } from "yaml";
import { detectKind, type Kind } from "../oci/kinds/index.js";
import { UsageError } from "./errors.js";
import { helmTag } from "./helm.js";
import type { PublishPlan, PushInput } from "./push.js";

/** Bounds of the YAML check: what a bundle of manifests plausibly holds. */
const MAX_YAML_FILES = 10_000;
const MAX_YAML_BYTES = 64 * 1024 * 1024;

type Check = (plan: PublishPlan, config: Record<string, unknown> | null) => Promise<void>;

/**
 * Checks a kind makes of what is pushed as it, by kind id: the kind is the one the registry will see,
 * detected from the manifest about to be pushed. Each failure is a UsageError (exit 2) saying what to fix.
 */
const CHECKS: Record<string, Check> = {
  // Helm resolves `--version X` to the tag X: a chart under another tag cannot be installed by version.
  "helm-chart": async (plan, config) => {
    const version = config?.version;
    // Pushed by digest only (a referrer): there is no tag to disagree with.
    if (typeof version !== "string" || plan.tag === undefined || helmTag(version) === plan.tag) return;
    throw new UsageError(
      `the chart's Chart.yaml version is ${version}, but it would be pushed to tag ${plan.tag}: ` +
        `push it to tag ${helmTag(version)} (or name no tag), or change the version in Chart.yaml`,
    );
  },
  // Flux applies every manifest in the artifact: one that does not parse fails the reconciliation.
  "flux-artifact": async (plan) => {
    let files = 0;
    let bytes = 0;
    for (const { path, name } of await yamlFiles(plan.inputs)) {
      files += 1;
      const size = (await stat(path)).size;
      bytes += size;
      if (files > MAX_YAML_FILES || bytes > MAX_YAML_BYTES) {
        throw new UsageError(
          `a Flux artifact of more than ${MAX_YAML_FILES} YAML files or ${MAX_YAML_BYTES / 1024 / 1024} MiB cannot be checked: split it`,
        );
      }
      const problem = yamlProblem(await readFile(path, "utf8"));
      if (problem)
        throw new UsageError(
          `${name} is not valid YAML (${problem}): a Flux artifact's manifests must parse`,
        );
    }
  },
};

/** Runs the checks of the kind the plan will be detected as; a kind without checks passes. */
export async function checkPushedKind(plan: PublishPlan, kinds?: readonly Kind[]): Promise<void> {
  const config = parseConfig(plan.config);
  const kind = detectKind({
    manifest: plan.manifest,
    config: config ?? undefined,
    tag: plan.tag,
    kinds,
  }).kind;
  const check = Object.hasOwn(CHECKS, kind.id) ? CHECKS[kind.id] : undefined;
  await check?.(plan, config);
}

function parseConfig(bytes: Buffer | undefined): Record<string, unknown> | null {
  if (!bytes) return null;
  try {
    const value: unknown = JSON.parse(bytes.toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** `.yaml`/`.yml` files pushed, and those inside pushed directories (regular files only). */
async function yamlFiles(inputs: readonly PushInput[]): Promise<{ path: string; name: string }[]> {
  const found: { path: string; name: string }[] = [];
  const isYaml = (name: string) => /\.ya?ml$/i.test(name);
  for (const input of inputs) {
    const info = await stat(input.path);
    if (info.isFile()) {
      if (isYaml(input.path)) found.push({ path: input.path, name: input.path });
      continue;
    }
    if (!info.isDirectory()) continue;
    const entries = await readdir(input.path, { recursive: true, withFileTypes: true });
    for (const entry of entries) {
      if (!entry.isFile() || !isYaml(entry.name)) continue;
      const path = join(entry.parentPath, entry.name);
      found.push({ path, name: join(input.path, relative(input.path, path)) });
      if (found.length > MAX_YAML_FILES) return found;
    }
  }
  return found;
}

/** The first parse error of a multi-document YAML text, with its line, or null. */
function yamlProblem(text: string): string | null {
  for (const doc of parseAllDocuments(text)) {
    const error = doc.errors[0];
    if (error) {
      const line = error.linePos?.[0]?.line;
      return `${line ? `line ${line}: ` : ""}${error.message.split("\n")[0]}`;
    }
  }
  return null;
}
