import type { FastifyReply, FastifyRequest } from "fastify";
import type { Registry } from "../../registry/registry.js";
import type { AuditEvent } from "../../registry/audit.js";
import type { RequestAccess, Requirement } from "../access.js";
import type { Refusal } from "../refusals.js";

export interface RouteContext {
  request: FastifyRequest;
  reply: FastifyReply;
  registry: Registry;
  /** Capture groups of the route pattern: the repository name, then the reference if any. */
  name: string;
  reference: string;
  query: Record<string, string | string[] | undefined>;
  /** Who is calling, as established by the access check before the handler runs. */
  access: RequestAccess;
  /** Records an event in the audit log with the caller as actor. */
  audit(event: Omit<AuditEvent, "actor" | "client">): Promise<void>;
  /** Records a refused request with the caller as actor (throttled like every refusal). */
  refused(refusal: Omit<Refusal, "actor" | "client">): Promise<void>;
  /** Records an event each request may repeat (a trust warning per pull), folded like refusals. */
  auditRepeated(event: Omit<AuditEvent, "actor" | "client">): Promise<void>;
}

export type RouteHandler = (ctx: RouteContext) => Promise<unknown>;

export type Method = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface ApiRoute {
  pattern: RegExp;
  methods: Partial<Record<Method, RouteHandler>>;
  /** What each method requires of the caller (checked before the handler runs). */
  requires: Partial<Record<Method, Requirement>>;
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
