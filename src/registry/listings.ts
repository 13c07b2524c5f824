import { RegistryError } from "../oci/errors.js";
import type { Descriptor } from "../oci/manifest.js";
import type { Db } from "../metadata/database.js";
import { listRepositories } from "../metadata/repositories.js";
import { listTags, tagsVersion } from "../metadata/tags.js";
import { listReferrers } from "../metadata/referrers.js";
import { fetchPage, type Page, type PageRequest } from "./pagination.js";
import { requireDigest, requireRepositoryName } from "./validation.js";

/** Read-only listings: tags, the catalog and referrers, each paginated. */
export class ListingService {
  constructor(private readonly db: Db) {}

  /**
   * A page of tags, with the repository's tags version (for the tag list's ETag: it changes whenever any
   * tag of the repository does). The version is read before the page, so it never labels a page older
   * than itself; a change in between only makes the next conditional request a 200.
   */
  async tags(repository: string, page: PageRequest): Promise<Page<string> & { version: string }> {
    requireRepositoryName(repository);
    const version = await tagsVersion(this.db, repository);
    if (version === undefined) {
      throw new RegistryError("NAME_UNKNOWN", "repository name not known to registry", { name: repository });
    }
    const tags = await fetchPage(
      page,
      (last, limit) => listTags(this.db, repository, last, limit),
      (tag) => tag,
    );
    return { ...tags, version };
  }

  /** Repositories in order; with `visible`, only those it accepts (pages stay full where possible). */
  async catalog(page: PageRequest, visible?: (name: string) => boolean): Promise<Page<string>> {
    if (!visible) {
      return fetchPage(
        page,
        (last, limit) => listRepositories(this.db, last, limit),
        (name) => name,
      );
    }
    return fetchPage(
      page,
      async (last, limit) => {
        const shown: string[] = [];
        let cursor = last;
        for (;;) {
          const batch = await listRepositories(this.db, cursor, Math.max(limit, 100));
          for (const name of batch) {
            if (shown.length < limit && visible(name)) shown.push(name);
          }
          cursor = batch.at(-1);
          if (shown.length >= limit || batch.length < Math.max(limit, 100)) return shown;
        }
      },
      (name) => name,
    );
  }

  async referrers(
    repository: string,
    subject: string,
    artifactType: string | undefined,
    page: PageRequest,
  ): Promise<Page<Descriptor>> {
    requireRepositoryName(repository);
    const parsed = requireDigest(subject);
    return fetchPage(
      page,
      async (last, limit) => {
        const rows = await listReferrers(this.db, repository, parsed.digest, { artifactType, last, limit });
        return rows.map((r) => {
          const descriptor: Descriptor = { mediaType: r.mediaType, digest: r.digest, size: r.size };
          if (r.artifactType) descriptor.artifactType = r.artifactType;
          if (r.annotations) descriptor.annotations = r.annotations;
          return descriptor;
        });
      },
      (d) => d.digest,
    );
  }
}
