import type { FastifyReply } from "fastify";
import type { Services } from "../server.js";
import type { VerificationStateDto } from "../../api/storage-verification.js";

/** The part of an admin API call (see routes/admin.ts, which guards and registers these) used here. */
interface StorageCall {
  reply: FastifyReply;
  caller: { name: string };
  audit(action: string, target: string, detail?: Record<string, unknown>): Promise<void>;
}

/**
 * POST /api/v1/storage/verify: starts re-hashing every stored blob, or joins the verification already
 * running, and answers 202 with its state at once (a run can take hours: the caller polls GET). The
 * start, every blob taken out of service and the outcome go to the audit log.
 */
export function startStorageVerification(services: Services) {
  return async ({ reply, caller, audit }: StorageCall): Promise<unknown> => {
    const verification = services.registry.verification;
    const started = await verification.start(caller.name, {
      quarantined: (problem) =>
        audit("blob.quarantine", problem.digest, { reason: problem.detail, size: problem.size }),
      finished: ({ report, error }) =>
        audit(
          "storage.verify.finish",
          "storage",
          report
            ? {
                checkedBlobs: report.checkedBlobs,
                checkedBytes: report.checkedBytes,
                corrupt: report.corrupt,
                missing: report.missing,
              }
            : { error },
        ),
    });
    if (started) await audit("storage.verify.start", "storage");
    const state: VerificationStateDto = verification.status();
    reply.code(202);
    return state;
  };
}

/** GET /api/v1/storage/verify: the running or last verification, with its progress or report. */
export function storageVerificationStatus(services: Services) {
  return async (): Promise<VerificationStateDto> => services.registry.verification.status();
}
