import { readBody, discard } from "../../../client/http.js";
import { responseError } from "../../../client/transport.js";
import { basicHeader } from "../../../client/auth.js";
import type { Credentials } from "../../../client/docker-config.js";
import { AuthError, UsageError } from "../../../client/errors.js";
import { parseLocation } from "../../../client/reference.js";
import type { Context } from "../common/context.js";

/** `--registry HOST`, or WHARF_REGISTRY. */
export interface RegistryOption {
  registry?: string;
}

/**
 * Calls a running registry's admin API (/api/v1/) with the credentials `wharf login` stored. The API
 * takes only credentials meant for it: the stored user name and password are sent as Basic
 * credentials; a stored refresh token goes through the token flow, which asks for the admin scope.
 */
export class AdminApi {
  private credentials: Promise<Credentials | undefined> | undefined;

  constructor(
    private readonly ctx: Context,
    readonly host: string,
  ) {}

  static for(ctx: Context, options: RegistryOption): AdminApi {
    const given = options.registry ?? ctx.client.defaultRegistry;
    if (!given) {
      throw new UsageError("which registry? give --registry HOST (or set WHARF_REGISTRY)");
    }
    return new AdminApi(ctx, parseLocation(given).registry);
  }

  /** The stored user name for this registry, if any. */
  async username(): Promise<string | undefined> {
    return (await this.stored())?.username;
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const transport = this.ctx.client.registry(this.host).transport;
    const stored = await this.stored();
    if (!stored) {
      throw new AuthError(`not logged in to ${this.host}: run \`wharf login ${this.host}\` first`);
    }
    const basic = basicHeader(stored);
    const res = await transport.request({
      method,
      path: `/api/v1${path}`,
      headers: {
        ...(body === undefined ? { accept: "application/json" } : { "content-type": "application/json" }),
        ...(basic ? { authorization: basic } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      scopes: [],
      retry: method === "GET",
    });
    if (res.status >= 400) {
      const err = await responseError(res, `${method} ${path} on ${this.host}`);
      // The server validated what we sent (a weak password, a bad name or action): bad input, as if
      // the CLI had found it, so exit 2 either way.
      if (res.status === 400 || res.status === 422) throw new UsageError(err.message);
      throw err;
    }
    if (res.status === 204) {
      discard(res);
      return undefined as T;
    }
    return JSON.parse((await readBody(res, 16 * 1024 * 1024)).toString("utf8")) as T;
  }

  private stored(): Promise<Credentials | undefined> {
    const client = this.ctx.client;
    this.credentials ??= client.options.credentials
      ? client.options.credentials(this.host)
      : client.config().then((config) => config.get(this.host));
    return this.credentials;
  }
}
