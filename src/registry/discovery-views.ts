/** What the discovery API answers: plain data, serialized as is. */
import type { ArtifactFacts, Kind, RenderedAction } from "../oci/kinds/index.js";

/** Whether the caller may pull a repository; undefined when everyone may (an open registry). */
export type Visibility = ((repository: string) => Promise<boolean>) | undefined;

export interface KindView {
  id: string;
  title: string;
  description: string;
  icon: string;
  iconUrl: string;
  accessory: boolean;
  hiddenFromPlatforms: boolean;
  detect: Kind["detect"];
  actions: Kind["actions"];
}

export interface RepositoryView {
  name: string;
  kinds: string[];
  tagCount: number;
  artifactCount: number;
  size: number;
  lastPush: string | null;
  description: string | null;
}

export interface AccessorySummary {
  count: number;
  /** Count per kind id. */
  kinds: Record<string, number>;
}

/** A signature over an artifact that a currently trusted key verified. */
export interface SignatureView {
  /** The trusted key's name. */
  key: string;
  /** Hex SHA-256 of the key's SPKI DER. */
  fingerprint: string;
  format: string;
  /** The signature manifest's digest. */
  digest: string;
  verifiedAt: string;
}

/** Whether a trusted key signed an artifact, and which (at most a few listed). */
export interface SignedView {
  signed: boolean;
  signatures: SignatureView[];
}

export interface ArtifactSummary extends SignedView {
  digest: string;
  tags: string[];
  kind: string;
  kindTitle: string;
  iconUrl: string;
  title: string | null;
  version: string | null;
  description: string | null;
  size: number;
  pushedAt: string;
  /** Last GET of the manifest (pull statistics, written every few seconds), or null if never pulled. */
  lastPulled: string | null;
  pullCount: number;
  platforms: string[];
  accessories: AccessorySummary;
  /** The kind's actions for this artifact (by its first tag, else by digest), for the caller's host. */
  actions: RenderedAction[];
}

/** What the trust module recorded of a signature accessory (see discovery-trust.ts). */
export interface VerificationView {
  status: "verified" | "unverified" | "failed";
  /** The trusted key that verified it (or whose verification expired). */
  key: string | null;
  fingerprint: string | null;
  reason: string | null;
}

export interface AccessoryView extends SignedView {
  digest: string;
  kind: string;
  kindTitle: string;
  iconUrl: string;
  tags: string[];
  title: string | null;
  pushedAt: string;
  facts: ArtifactFacts;
  /** For signatures (cosign, Sigstore bundle, Notation): whether a trusted key verified it; else null. */
  verification: VerificationView | null;
}

export interface ArtifactDetail extends SignedView {
  repository: string;
  digest: string;
  mediaType: string;
  tags: string[];
  kind: { id: string; title: string; icon: string; iconUrl: string; description: string };
  facts: ArtifactFacts;
  pushedAt: string;
  lastPulled: string | null;
  pullCount: number;
  annotations: Record<string, string>;
  subject: string | null;
  config: { mediaType: string | null; digest: string | null; size: number } | null;
  layers: {
    mediaType: string | null;
    digest: string | null;
    size: number;
    annotations: Record<string, string>;
  }[];
  manifests: { mediaType: string | null; digest: string | null; size: number; platform: string | null }[];
  /** Accessories of this artifact, by kind id. */
  accessories: Record<string, AccessoryView[]>;
  actions: RenderedAction[];
}

export interface SearchResult extends SignedView {
  repository: string;
  digest: string;
  tags: string[];
  kind: string;
  kindTitle: string;
  iconUrl: string;
  title: string | null;
  version: string | null;
  description: string | null;
  score: number;
  actions: RenderedAction[];
}

export interface SearchRequest {
  q: string | undefined;
  kind: string | undefined;
  /** `key=value` filters, as given. */
  annotations: string[];
}

export function iconUrl(kind: string): string {
  return `/api/v1/kinds/${kind}/icon.svg`;
}
