import { createElement, type ComponentChildren, type JSX } from "preact";
import { useEffect, useState } from "preact/hooks";

/** The pages of the UI, from the path. Repository names hold slashes; tags never hold `:` or `@`. */
export type Route =
  | { page: "overview" }
  | { page: "repository"; repository: string }
  | { page: "artifact"; repository: string; reference: string }
  | { page: "search" }
  | { page: "sign-in" }
  | { page: "admin"; section: string }
  | { page: "not-found" };

/** The distribution spec's repository name, tag and digest grammars. */
const NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG_REF = /^:[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST_REF = /^@[a-z0-9]+(?:[+._-][a-z0-9]+)*:[A-Za-z0-9=_-]+$/;

export function routeOf(path: string): Route {
  const decoded = safeDecode(path);
  if (decoded === "/" || decoded === "") return { page: "overview" };
  if (decoded === "/search") return { page: "search" };
  if (decoded === "/sign-in") return { page: "sign-in" };
  if (decoded === "/admin" || decoded === "/admin/") return { page: "admin", section: "" };
  let m = /^\/admin\/([a-z-]+)\/?$/.exec(decoded);
  if (m) return { page: "admin", section: m[1]! };
  m = /^\/r\/(.+?)\/?$/.exec(decoded);
  if (m) return NAME.test(m[1]!) ? { page: "repository", repository: m[1]! } : { page: "not-found" };
  m = /^\/a\/(.+)$/.exec(decoded);
  if (m) {
    const text = m[1]!;
    const at = text.indexOf("@");
    const colon = text.lastIndexOf(":");
    const split = at > 0 ? at : colon > text.lastIndexOf("/") && colon > 0 ? colon : -1;
    const repository = text.slice(0, split);
    const reference = text.slice(split);
    // Only what OCI names allow: a crafted link cannot steer the page's API calls elsewhere.
    if (split > 0 && NAME.test(repository) && (DIGEST_REF.test(reference) || TAG_REF.test(reference))) {
      return { page: "artifact", repository, reference };
    }
  }
  return { page: "not-found" };
}

/** The path of a page: `/r/NAME`, `/a/NAME@DIGEST` or `/a/NAME:TAG`. */
export const paths = {
  repository: (name: string) => `/r/${name}`,
  /** `reference` is `@sha256:…` or `:tag` (with its separator), or a bare digest or tag. */
  artifact: (name: string, reference: string) => {
    const ref = /^[@:]/.test(reference)
      ? reference
      : reference.includes(":")
        ? `@${reference}`
        : `:${reference}`;
    return `/a/${name}${ref}`;
  },
  search: (q: string) => `/search?q=${encodeURIComponent(q)}`,
};

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

const listeners = new Set<() => void>();
function notify(): void {
  for (const listener of listeners) listener();
}
window.addEventListener("popstate", notify);

/** Goes to `to` (a path with an optional query) without reloading the page. */
export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  notify();
  if (!options.replace) window.scrollTo(0, 0);
}

export interface Location {
  path: string;
  query: URLSearchParams;
}

/** The current location; re-renders the caller when it changes. */
export function useLocation(): Location {
  const [, setTick] = useState(0);
  useEffect(() => {
    const listener = () => setTick((t) => t + 1);
    listeners.add(listener);
    return () => void listeners.delete(listener);
  }, []);
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

type AnchorProps = JSX.HTMLAttributes<HTMLAnchorElement> & { href: string; children?: ComponentChildren };

/** An anchor that navigates in place (plain clicks) and stays a real link (new tab, copy address). */
export function Link(props: AnchorProps) {
  const { href, onClick, ...rest } = props;
  return createElement("a", {
    ...rest,
    href,
    onClick: (event: JSX.TargetedMouseEvent<HTMLAnchorElement>) => {
      if (typeof onClick === "function") onClick(event);
      if (event.defaultPrevented || event.button !== 0) return;
      if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      navigate(href);
    },
  });
}
