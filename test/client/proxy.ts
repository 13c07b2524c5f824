import { once } from "node:events";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import { randomBytes } from "node:crypto";

/** A request the proxy saw, for assertions. */
export interface SeenRequest {
  method: string;
  url: string;
  authorization?: string;
}

export interface ProxyOptions {
  /** Where requests go when `handle` does not answer them: http://127.0.0.1:PORT */
  target: string;
  /** Answer a request yourself (return true), e.g. to misbehave; `forward` fetches the real answer. */
  handle?: (req: IncomingMessage, res: ServerResponse, forward: Forwarder) => Promise<boolean> | boolean;
  /** Require Docker-spec Bearer tokens issued by /token to these users (Basic credentials). */
  bearer?: { users: Record<string, string>; anonymousPull?: boolean };
  /** Serve HTTPS with this key and certificate (PEM). */
  tls?: { key: Buffer; cert: Buffer };
}

export type Forwarder = () => Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>;

export interface TestProxy {
  url: string;
  host: string;
  seen: SeenRequest[];
  /** Scopes asked of the token endpoint, one entry per token request. */
  tokenScopes: string[][];
  close(): Promise<void>;
}

/**
 * A loopback HTTP proxy in front of a real registry: it can demand Bearer tokens (as GHCR, Docker Hub and
 * Harbor do) and misbehave on purpose (wrong bytes, truncation, 429/503, dropped connections).
 */
export async function startProxy(options: ProxyOptions): Promise<TestProxy> {
  const seen: SeenRequest[] = [];
  const tokenScopes: string[][] = [];
  const tokens = new Map<string, Set<string>>();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", authorization: req.headers.authorization });
      if (options.bearer && req.url?.startsWith("/token")) return issueToken(req, res);
      if (options.bearer && !authorized(req)) return challenge(req, res);
      const forward = () => forwardBuffered(req);
      if (options.handle && (await options.handle(req, res, forward))) return;
      return forwardStreaming(req, res);
    })().catch((err: unknown) => {
      res.destroy(err instanceof Error ? err : new Error(String(err)));
    });
  };
  const server = options.tls ? https.createServer(options.tls, handler) : http.createServer(handler);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const url = `${options.tls ? "https" : "http"}://127.0.0.1:${port}`;

  function issueToken(req: IncomingMessage, res: ServerResponse): void {
    const query = new URL(req.url ?? "/", url).searchParams;
    const scopes = query.getAll("scope");
    tokenScopes.push(scopes);
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? "");
    const [user, password] = basic?.[1] ? Buffer.from(basic[1], "base64").toString().split(":") : [];
    const known = user !== undefined && options.bearer?.users[user] === password;
    if (basic && !known) {
      res.writeHead(401, { "content-type": "application/json" }).end('{"details":"bad credentials"}');
      return;
    }
    const granted = new Set<string>();
    for (const scope of scopes) {
      const [type, name, actions] = scope.split(":");
      for (const action of (actions ?? "").split(",")) {
        if (known || (options.bearer?.anonymousPull && action === "pull"))
          granted.add(`${type}:${name}:${action}`);
      }
    }
    const token = randomBytes(16).toString("hex");
    tokens.set(token, granted);
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ token, expires_in: 300 }));
  }

  function needed(req: IncomingMessage): string[] {
    const path = new URL(req.url ?? "/", url);
    const match = /^\/v2\/(.+?)\/(manifests|blobs|tags|referrers)\//.exec(path.pathname);
    if (!match?.[1]) return path.pathname.startsWith("/v2/_catalog") ? ["registry:catalog:*"] : [];
    const action =
      req.method === "GET" || req.method === "HEAD" ? "pull" : req.method === "DELETE" ? "delete" : "push";
    const scopes = [`repository:${match[1]}:${action}`];
    const from = path.searchParams.get("from");
    if (from) scopes.push(`repository:${from}:pull`);
    return scopes;
  }

  function authorized(req: IncomingMessage): boolean {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const granted = token ? tokens.get(token) : undefined;
    if (!granted) return false;
    return needed(req).every((scope) => granted.has(scope));
  }

  function challenge(req: IncomingMessage, res: ServerResponse): void {
    const scope = needed(req)[0];
    const params = [
      `realm="${url}/token"`,
      `service="test-registry"`,
      ...(scope ? [`scope="${scope}"`] : []),
    ];
    res
      .writeHead(401, {
        "www-authenticate": `Bearer ${params.join(",")}`,
        "content-type": "application/json",
      })
      .end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
    req.resume();
  }

  function upstream(req: IncomingMessage): http.ClientRequest {
    const headers = { ...req.headers };
    delete headers.authorization;
    return http.request(new URL(req.url ?? "/", options.target), { method: req.method, headers });
  }

  async function forwardBuffered(req: IncomingMessage) {
    const up = upstream(req);
    req.pipe(up);
    const [response] = (await once(up, "response")) as [IncomingMessage];
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(chunk as Buffer);
    return { status: response.statusCode ?? 502, headers: response.headers, body: Buffer.concat(chunks) };
  }

  function forwardStreaming(req: IncomingMessage, res: ServerResponse): void {
    const up = upstream(req);
    up.on("response", (response) => {
      const headers = { ...response.headers };
      const location = headers.location;
      if (typeof location === "string") headers.location = location.replace(options.target, url);
      res.writeHead(response.statusCode ?? 502, headers);
      response.pipe(res);
    });
    up.on("error", (err) => res.destroy(err));
    req.pipe(up);
  }

  return {
    url,
    host: `127.0.0.1:${port}`,
    seen,
    tokenScopes,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}
