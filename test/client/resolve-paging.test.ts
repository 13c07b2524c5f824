import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Client } from "../../src/client/index.js";
import { resolveTag } from "../../src/client/resolve.js";

describe("a registry whose tag list never ends", () => {
  test("is read up to a bound on pages, then an error naming it, not an endless loop", async () => {
    // Every page holds the same tag and links to a new cursor: no Link repeats, no page is empty.
    let served = 0;
    const server = createServer((req, res) => {
      if (req.url?.startsWith("/v2/endless/tags/list")) {
        served++;
        res.setHeader("content-type", "application/json");
        res.setHeader("link", `</v2/endless/tags/list?n=1000&cursor=${served}>; rel="next"`);
        res.end(JSON.stringify({ name: "endless", tags: ["1.0.0"] }));
        return;
      }
      res.statusCode = req.url === "/v2/" ? 200 : 404;
      res.setHeader("content-type", "application/json");
      res.end(req.url === "/v2/" ? "{}" : JSON.stringify({ errors: [{ code: "NOT_FOUND", message: "no" }] }));
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as AddressInfo;
    const client = new Client({ env: {} });
    try {
      await assert.rejects(
        resolveTag(
          client,
          { kind: "registry", registry: `127.0.0.1:${port}`, repository: "endless" },
          {
            semver: "*",
          },
        ),
        /more than 1000 pages of tags for endless/,
      );
      assert.equal(served, 1000);
    } finally {
      client.close();
      server.close();
    }
  });
});
