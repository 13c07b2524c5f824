import type { UploadState } from "./blob-store.js";

export interface UploadedPart {
  number: number;
  etag: string;
  size: number;
}

/**
 * What an S3 upload is made of, persisted by the caller (the database) after every request: the
 * multipart upload holding the full parts so far, and the object holding the bytes after them (less
 * than a part). Nothing else is needed to continue the upload on any node.
 */
export interface S3Upload {
  /** The multipart upload's id; absent until the first full part exists. */
  multipartId?: string;
  parts: UploadedPart[];
  tail?: { key: string; size: number };
}

export function encodeState(upload: S3Upload): UploadState {
  return JSON.stringify(upload);
}

/** The state a store wrote; null (a session created before any data) is an empty upload. */
export function decodeState(state: UploadState): S3Upload {
  if (state === null) return { parts: [] };
  const value = JSON.parse(state) as Partial<S3Upload>;
  if (!Array.isArray(value.parts)) throw new Error("not an S3 upload state");
  return { multipartId: value.multipartId, parts: value.parts, tail: value.tail };
}

export function uploadedSize(upload: S3Upload): number {
  return upload.parts.reduce((sum, part) => sum + part.size, 0) + (upload.tail?.size ?? 0);
}
