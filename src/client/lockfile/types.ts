/** A text change in one file: replace source[start, end) with `text`. */
export interface Edit {
  start: number;
  end: number;
  text: string;
}

/** What a reference resolved to, as `--write` needs it to pin the text. */
export interface Pinned {
  /** The tag chosen (a range's winner, or the tag written); absent for a digest-only reference. */
  tag?: string;
  digest: string;
}

/** An OCI reference found in a file, with where it is. */
export interface FoundRef {
  /** 1-based line and column of the reference's text in the file. */
  line: number;
  column: number;
  /** Where in the document, for messages: `[0].spec.url`, `module.app.source`. */
  path: string;
  /**
   * host/repo[:tag][@digest] as the file writes it (without `oci://`), context placeholders such as
   * `${context.project_id}` kept; for a range, the repository alone.
   */
  reference: string;
  /** Set when the version is a semver range (`^1.2.0`) rather than one tag. */
  range?: string;
  /** Flux OCIRepository's `ref.semverFilter`: a regex a tag must match before the range applies. */
  semverFilter?: string;
  /** A Helm chart dependency: its range reads tags as Helm pushes versions (`1.2.3_b` is `1.2.3+b`). */
  helm?: boolean;
  /** The edit that pins this reference to a digest in place (`--write`); absent when it cannot be pinned. */
  pin?: (pinned: Pinned) => Edit | undefined;
}

/** A reference scanner for one file format. */
export type Scanner = (text: string, fileName: string) => FoundRef[];
