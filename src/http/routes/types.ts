import type { FastifyReply, FastifyRequest } from "fastify";
import type { Registry } from "../../registry/registry.js";

export interface RouteContext {
  request: FastifyRequest;
  reply: FastifyReply;
  registry: Registry;
  /** Capture groups of the route pattern: the repository name, then the reference if any. */
  name: string;
  reference: string;
  query: Record<string, string | string[] | undefined>;
}

export type RouteHandler = (ctx: RouteContext) => Promise<unknown>;

export interface ApiRoute {
  pattern: RegExp;
  methods: Partial<Record<"GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE", RouteHandler>>;
}

/** The first value of a query parameter that may be repeated. */
export function queryValue(query: RouteContext["query"], key: string): string | undefined {
  const value = query[key];
  return Array.isArray(value) ? value[0] : value;
}

export function queryValues(query: RouteContext["query"], key: string): string[] {
  const value = query[key];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** A `Link` header for the next page, keeping the other query parameters. */
export function nextLink(path: string, params: Record<string, string | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined) search.set(key, value);
  return `<${path}?${search.toString()}>; rel="next"`;
}
