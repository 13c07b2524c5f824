import { UsageError } from "../errors.js";
import { isValidRepositoryName } from "../../oci/names.js";

/** A default registry for short names: a host and the namespace below which short names live. */
export interface DefaultLocation {
  host: string;
  /** "" for the registry's top level. */
  namespace: string;
}

/**
 * `oci://host[:port][/namespace]`, or the same without the scheme (WHARF_REGISTRY was a bare host
 * before namespaces, and still may be). `where` names the setting in errors.
 */
export function parseDefaultLocation(text: string, where: string): DefaultLocation {
  const body = text
    .trim()
    .replace(/^oci:\/\//i, "")
    .replace(/\/+$/, "");
  const example = "oci://registry.example.com/team";
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(body))
    throw new UsageError(
      `${where}: ${JSON.stringify(text)} must be oci://host[:port][/namespace], e.g. ${example}`,
    );
  const slash = body.indexOf("/");
  const host = (slash < 0 ? body : body.slice(0, slash)).toLowerCase();
  const namespace = slash < 0 ? "" : body.slice(slash + 1);
  if (host === "" || /[\s@]/.test(host))
    throw new UsageError(
      `${where}: ${JSON.stringify(text)} does not start with a registry host, e.g. ${example}`,
    );
  if (namespace !== "" && !isValidRepositoryName(namespace))
    throw new UsageError(
      `${where}: namespace ${JSON.stringify(namespace)} must be lower-case path components`,
    );
  return { host, namespace };
}

export function formatLocation(location: DefaultLocation): string {
  return `oci://${location.host}${location.namespace ? `/${location.namespace}` : ""}`;
}
