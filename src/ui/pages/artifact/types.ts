/**
 * GET /api/v1/artifacts/NAME@DIGEST as the page reads it (src/registry/discovery-views.ts ArtifactDetail).
 * Fields a newer server adds are optional here: against an older one the page leaves their part out.
 */

export interface Facts {
  title?: string | null;
  description?: string | null;
  version?: string | null;
  source?: string | null;
  revision?: string | null;
  licenses?: string | null;
  created?: string | null;
  chart?: { name: string | null } | null;
}

export interface TrustedSignature {
  key: string;
  fingerprint: string;
  format: string;
  digest: string;
  verifiedAt: string;
}

export interface Verification {
  status: "verified" | "unverified" | "failed";
  key?: string | null;
  fingerprint?: string | null;
  reason?: string | null;
}

export interface Accessory {
  digest: string;
  kind: string;
  kindTitle: string;
  iconUrl: string;
  tags?: string[];
  title?: string | null;
  pushedAt?: string;
  signed?: boolean;
  verification?: Verification | null;
  /** Accessories of this accessory (a signature over an SBOM), when the server nests them. */
  accessories?: Record<string, Accessory[]>;
}

export interface Descriptor {
  mediaType: string | null;
  digest: string | null;
  size: number;
}

export interface ArtifactDetail {
  repository: string;
  digest: string;
  mediaType: string;
  tags: string[];
  kind: { id: string; title: string; iconUrl: string; description?: string };
  facts: Facts;
  pushedAt: string;
  lastPulled: string | null;
  pullCount?: number;
  signed: boolean;
  signatures?: TrustedSignature[];
  annotations?: Record<string, string>;
  subject?: string | null;
  config?: Descriptor | null;
  layers?: (Descriptor & { annotations?: Record<string, string> })[];
  manifests?: (Descriptor & { platform: string | null })[];
  accessories?: Record<string, Accessory[]>;
  actions?: { label: string; command: string }[];
}

/** GET …/files: the files the artifact's layers hold (a chart's, a model's), listed but not read. */
export interface FileList {
  files: { path: string; size: number; layer?: string; mediaType?: string | null }[];
  truncated: boolean;
}

/** GET …/files/PATH: one file's text, up to the server's size limit. */
export interface FileContent {
  path: string;
  size: number;
  text: string | null;
  binary: boolean;
  truncated: boolean;
}

/** The API path of an artifact by digest: `/api/v1/artifacts/NAME@DIGEST`. */
export function artifactApi(repository: string, digest: string): string {
  return `/api/v1/artifacts/${repository}@${digest}`;
}
