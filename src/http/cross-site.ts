import type { FastifyRequest } from "fastify";

/**
 * Why a browser request comes from another site, or undefined when it does not. Browsers say where a
 * request comes from (`Sec-Fetch-Site`, `Origin`); the CLI sends neither. Only the server's own origin
 * (its Host, or the configured realm's) passes; `same-site` is refused too, since SameSite cookies still
 * reach a sibling subdomain's requests.
 */
export function crossSiteProblem(request: FastifyRequest, realm: string): string | undefined {
  const site = request.headers["sec-fetch-site"];
  if (site === "cross-site" || site === "same-site") return "cross-site requests are refused";
  const origin = request.headers.origin;
  if (origin === undefined) return undefined;
  let host: string | undefined;
  try {
    host = new URL(origin).host;
  } catch {
    host = undefined;
  }
  if (!host || (host !== request.headers.host && host !== new URL(realm).host)) {
    return `requests from the origin ${origin.slice(0, 200)} are refused`;
  }
  return undefined;
}
