/** Error codes of the OCI Distribution Spec, with the HTTP status each maps to by default. */
export const ErrorCodes = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  // Not in the spec's table but used by Distribution and expected by its clients.
  PAGINATION_NUMBER_INVALID: 400,
  RANGE_INVALID: 416,
  // Distribution's code for failures no other code describes (such as full storage, sent as 507).
  UNKNOWN: 500,
  // The admin API (/api/v1/) answers in the same format with these.
  INVALID_REQUEST: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/** A failure the client caused or must learn about; carries its OCI error code and HTTP status. */
export class RegistryError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly detail?: unknown,
    status?: number,
  ) {
    super(message);
    this.status = status ?? ErrorCodes[code];
  }
}
