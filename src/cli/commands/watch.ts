import { spawn, type ChildProcess } from "node:child_process";
import type { Command } from "commander";
import { UsageError, errorMessage } from "../../client/errors.js";
import { formatReference, type RegistryReference } from "../../client/reference.js";
import type { ResolvedTag } from "../../client/resolve.js";
import { watchTags } from "../../client/watch.js";
import type { TagPolicy } from "../../oci/tag-policy/index.js";
import {
  examples,
  runCommand,
  withCommonOptions,
  type CommonOptions,
  type Context,
} from "./common/context.js";
import { formatMs } from "../../client/deadline.js";
import { parseDuration, terminalJson } from "./common/format.js";

interface WatchOptions extends CommonOptions {
  semver?: string;
  exec?: string;
  interval: string;
}

export function registerWatch(program: Command): void {
  const command = program
    .command("watch")
    .description(
      "Report each new version a policy picks in a repository, and optionally run a command for it",
    )
    .argument("<repo>", "host[:port]/repo (the policy picks the tag)")
    .option("--semver <range>", "the highest version in this range wins, e.g. '^1.2' (required)")
    .option(
      "--exec <command>",
      "run this shell command for each version printed, one at a time, with WHARF_TAG, WHARF_DIGEST and WHARF_REFERENCE set (its output goes to stderr)",
    )
    .option("--interval <duration>", "time between polls, e.g. 30s, 5m (at least 1s)", "1m");
  withCommonOptions(command, { timeout: "0" });
  examples(command, [
    "wharf watch 127.0.0.1:5000/team/app --semver '^1.2'                 # prints v1.4.0@sha256:…, then each newer one",
    "wharf watch registry.example.com/team/app --semver '~2.0' --exec 'kubectl set image deploy/app app=$WHARF_REFERENCE'",
    "wharf watch 127.0.0.1:5000/charts/web --semver '>=1.0.0' --interval 10s --json",
  ]);
  command.action(async (reference: string, options: WatchOptions) => {
    await runCommand(options, async (ctx) => {
      const ref = ctx.client.parse(reference);
      if (ref.kind !== "registry")
        throw new UsageError("watch needs a registry repository, not an OCI layout");
      if (ref.tag || ref.digest)
        throw new UsageError(`watch takes a repository without :tag or @digest (the policy picks the tag)`);
      if (options.semver === undefined) throw new UsageError("watch needs a policy: --semver RANGE");
      const policy: TagPolicy = { semver: options.semver };
      const intervalMs = parseDuration(options.interval);
      if (intervalMs === undefined || intervalMs < 1000)
        throw new UsageError(
          `--interval ${options.interval}: expected a duration of at least 1s, e.g. 30s or 5m`,
        );
      if (options.exec !== undefined && options.exec.trim() === "")
        throw new UsageError("--exec needs a command");
      await watch(ctx, ref, policy, intervalMs, options.exec);
    });
  });
}

async function watch(
  ctx: Context,
  ref: RegistryReference,
  policy: TagPolicy,
  intervalMs: number,
  exec: string | undefined,
): Promise<void> {
  const repository = formatReference({ ...ref, tag: undefined, digest: undefined });
  const stop = new AbortController();
  const running: Running = {};
  // A command in progress is waited for at the first signal, not killed: half a deployment is worse
  // than a late stop (it runs in its own process group, so a terminal's Ctrl-C does not reach it). A
  // second signal ends a command that hangs: SIGTERM to its process group, and the watch exits.
  const onSignal = (name: NodeJS.Signals) => {
    if (!stop.signal.aborted) {
      stop.abort();
      if (running.child) ctx.note(`Waiting for --exec to finish (${name} again to stop it and exit at once)`);
      return;
    }
    const pid = running.child?.pid;
    if (pid !== undefined) {
      try {
        process.kill(-pid, "SIGTERM");
      } catch {
        // Already gone.
      }
      ctx.error(`stopped --exec (SIGTERM to process group ${pid}) and the watch`);
    }
    process.exit(name === "SIGINT" ? 130 : 143);
  };
  process.on("SIGINT", onSignal).on("SIGTERM", onSignal);
  // --timeout (default none) ends the watch as a signal would.
  const signal = AbortSignal.any([stop.signal, ctx.client.deadline.signal]);
  ctx.note(`Watching ${repository} for --semver ${policy.semver ?? ""} every ${formatMs(intervalMs)}`);
  try {
    await watchTags(ctx.client, ref, policy, {
      intervalMs,
      signal,
      onVersion: async (resolved, initial) => {
        const reference = formatReference({ ...ref, tag: resolved.tag, digest: resolved.digest });
        // JSON lines: one compact object per version, for `while read` and jq alike.
        if (ctx.json) process.stdout.write(`${terminalJson({ ...resolved, reference, initial }, 0)}\n`);
        else ctx.print(`${resolved.tag}@${resolved.digest}`);
        if (exec === undefined || signal.aborted) return;
        const outcome = await runExec(exec, resolved, reference, running);
        if (outcome) ctx.error(`--exec for ${resolved.tag} ${outcome}; watching on`);
      },
      onError: (err, retryInMs) =>
        ctx.error(`watch ${repository}: ${errorMessage(err)}; retrying in ${formatMs(retryInMs)}`),
      onLower: (resolved, reported) =>
        ctx.note(`${reported.tag} is gone; the highest matching is now ${resolved.tag} (not reported)`),
      onRecover: () => ctx.note(`Watching ${repository} again`),
      onNoMatch: (err) => ctx.note(`${errorMessage(err)} (yet): watching on`),
    });
  } finally {
    process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
  }
  ctx.note(`Stopped watching ${repository}`);
}

/** The --exec command in progress, if any (for a second signal to stop). */
interface Running {
  child?: ChildProcess;
}

/** Runs `--exec` with the shell, in a process group of its own: undefined when it exited 0, else how it failed. */
async function runExec(
  command: string,
  resolved: ResolvedTag,
  reference: string,
  running: Running,
): Promise<string | undefined> {
  let child: ChildProcess;
  try {
    child = spawn(command, {
      shell: true,
      env: {
        ...process.env,
        WHARF_TAG: resolved.tag,
        WHARF_DIGEST: resolved.digest,
        WHARF_REFERENCE: reference,
      },
      // stdout stays the versions alone, as push keeps it the digest alone while a gate runs.
      stdio: ["ignore", process.stderr, process.stderr],
      detached: true,
    });
  } catch (err) {
    return `could not start: ${errorMessage(err)}`;
  }
  running.child = child;
  return new Promise<string | undefined>((resolve) => {
    child.on("error", (err) => resolve(`could not start: ${errorMessage(err)}`));
    child.on("exit", (code, signal) =>
      resolve(code === 0 ? undefined : signal ? `was killed by ${signal}` : `failed with exit code ${code}`),
    );
  }).finally(() => {
    running.child = undefined;
  });
}
