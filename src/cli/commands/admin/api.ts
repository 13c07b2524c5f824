import { readBody, discard } from "../../../client/http.js";
import { responseError } from "../../../client/transport.js";
import { UsageError } from "../../../client/errors.js";
import { parseLocation } from "../../../client/reference.js";
import type { Context } from "../common/context.js";

/** `--registry HOST`, or WHARF_REGISTRY. */
export interface RegistryOption {
  registry?: string;
}

/** Calls a running registry's admin API (/api/v1/) with the credentials `wharf login` stored. */
export class AdminApi {
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

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const transport = this.ctx.client.registry(this.host).transport;
    const res = await transport.request({
      method,
      path: `/api/v1${path}`,
      headers: body === undefined ? { accept: "application/json" } : { "content-type": "application/json" },
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
}
