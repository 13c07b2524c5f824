import Module, { createRequire } from "node:module";
import type * as SigstoreOci from "@sigstore/oci";

/**
 * @sigstore/oci, the third-party OCI client of sigstore-js. Its 0.6.0 requires `promise-retry` without
 * declaring it (it came with make-fetch-happen until make-fetch-happen 15 moved to @gar/promise-retry,
 * the same function under a named export), so where the install has no `promise-retry` that one
 * request is answered with a shim over @gar/promise-retry. Nothing else about the client is changed.
 */
async function load(): Promise<typeof SigstoreOci> {
  const require = createRequire(import.meta.url);
  let missing = false;
  try {
    require.resolve("promise-retry", { paths: [require.resolve("@sigstore/oci")] });
  } catch {
    missing = true;
  }
  if (missing) {
    // Served from the require cache under a name of its own: Module._resolveFilename is Node's
    // (undocumented but stable) resolution hook for require().
    const id = "promise-retry (shim over @gar/promise-retry)";
    const shim = new Module(id);
    shim.filename = id;
    shim.loaded = true;
    shim.exports = (require("@gar/promise-retry") as { promiseRetry: unknown }).promiseRetry;
    require.cache[id] = shim;
    const internal = Module as unknown as {
      _resolveFilename: (request: string, ...rest: unknown[]) => string;
    };
    const original = internal._resolveFilename;
    internal._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]) {
      return request === "promise-retry" ? id : original.call(this, request, ...rest);
    };
  }
  return import("@sigstore/oci");
}

export const { attachArtifactToImage } = await load();
export type { Credentials } from "@sigstore/oci";
