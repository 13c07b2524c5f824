import type { Readable } from "node:stream";
import { NotFoundError } from "./errors.js";
import type { Resolved } from "./fetcher.js";
import { LayoutTarget } from "./layout.js";
import type { Descriptor, ManifestData } from "./manifest.js";
import type { PullSource } from "./pull.js";
import type { LayoutReference } from "./reference.js";

/**
 * An OCI image layout as what a pull reads from (the air-gapped side has no registry). Nothing is
 * cached: the layout is local already, and every blob is verified as it is read.
 */
export class LayoutSource implements PullSource<LayoutReference> {
  repaired = 0;
  readonly cacheHits = 0;
  readonly downloads = 0;
  private readonly layout: LayoutTarget;

  constructor(path: string) {
    this.layout = new LayoutTarget(path);
  }

  /** The tag or digest, else the layout's only manifest. */
  async resolve(ref: LayoutReference): Promise<Resolved> {
    return { descriptor: await this.layout.resolve(ref.digest ?? ref.tag ?? ""), fromCache: false };
  }

  manifest(_ref: LayoutReference, descriptor: Descriptor): Promise<ManifestData> {
    return this.layout.fetchManifest(descriptor);
  }

  /** Present with the right size; its content is verified when it is written out. */
  async ensure(
    _ref: LayoutReference,
    descriptor: Descriptor,
    onProgress?: (bytes: number) => void,
  ): Promise<void> {
    if (!(await this.layout.hasBlob(descriptor)))
      throw new NotFoundError(
        `${this.layout.label} has no blob ${descriptor.digest} of size ${descriptor.size}`,
      );
    onProgress?.(descriptor.size);
  }

  blob(_ref: LayoutReference, descriptor: Descriptor): Promise<Readable> {
    return this.layout.fetchBlob(descriptor);
  }
}
