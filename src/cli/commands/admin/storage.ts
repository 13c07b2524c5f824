import type { Command } from "commander";
import { ExitCode, WharfError } from "../../../client/errors.js";
import type { VerificationState, VerifyReport } from "../../../registry/storage-verification.js";
import { examples, runCommand, withCommonOptions, type CommonOptions } from "../common/context.js";
import { formatBytes, table } from "../common/format.js";
import { AdminApi, type RegistryOption } from "./api.js";

/** How often the running verification is asked for its progress. */
const POLL_MS = 500;

export function registerStorage(program: Command): void {
  const storage = program.command("storage").description("Check the registry's blob storage");

  const verify = storage
    .command("verify")
    .description(
      "Re-hash every stored blob on the registry; report corrupt and missing ones and take corrupt ones " +
        "out of service (they answer 404 until pushed again, which repairs them)",
    )
    .option("--registry <host>", "the registry to check (default WHARF_REGISTRY)");
  // A run over a large store takes as long as reading it all; each poll has its own read timeout.
  withCommonOptions(verify, { timeout: "0" });
  examples(verify, [
    "wharf storage verify --registry registry.example.com",
    "wharf storage verify --json | jq '.problems[]'",
    "wharf audit --action blob.quarantine            # what earlier runs took out of service",
  ]);
  verify.action(async (options: CommonOptions & RegistryOption) => {
    await runCommand(options, async (ctx) => {
      const api = AdminApi.for(ctx, options);
      let status = await api.call<VerificationState>("POST", "/storage/verify", {});
      const bar = ctx.progress?.task("verifying blobs", status.progress?.totalBytes ?? 0);
      while (status.state === "running") {
        bar?.update(status.progress?.checkedBytes ?? 0);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        status = await api.call<VerificationState>("GET", "/storage/verify");
      }
      const report = status.report;
      if (status.state !== "done" || !report) {
        throw new WharfError(
          status.state === "failed"
            ? `the verification failed on ${api.host}: ${status.error ?? "no reason given"}`
            : `the verification on ${api.host} was interrupted (did the registry restart?)`,
        );
      }
      bar?.done(`${report.checkedBlobs} blobs`);
      ctx.progress?.stop();
      if (ctx.json) ctx.printJson(report);
      else printReport(ctx, report);
      return report.corrupt + report.missing > 0 ? ExitCode.Integrity : ExitCode.Ok;
    });
  });
}

function printReport(ctx: { print(text: string): void; note(text: string): void }, report: VerifyReport) {
  const checked = `Checked ${report.checkedBlobs} blobs (${formatBytes(report.checkedBytes)})`;
  if (report.corrupt + report.missing === 0) {
    ctx.print(`${checked}: all intact.`);
    return;
  }
  ctx.print(
    table([
      ["DIGEST", "SIZE", "PROBLEM", "DETAIL"],
      ...report.problems.map((p) => [
        p.digest,
        formatBytes(p.size),
        p.problem === "corrupt" ? "corrupt (quarantined)" : "missing",
        p.detail,
      ]),
    ]),
  );
  if (report.truncated) ctx.note(`(only the first ${report.problems.length} problems are listed)`);
  ctx.print(`${checked}: ${report.corrupt} corrupt, ${report.missing} missing.`);
  if (report.corrupt > 0) {
    ctx.note("Corrupt blobs were taken out of service (404); pushing them again repairs them.");
  }
}
