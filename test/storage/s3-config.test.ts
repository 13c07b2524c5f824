/** S3 settings at start-up: a bucket that cannot be used, and presigning for a public endpoint. */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { startWharf } from "../helpers/server.js";
import { backendEnv, s3Settings } from "../helpers/backends.js";
import { pushBlob, randomBlob, uniqueRepo } from "../spec/support.js";

describe("S3 settings", () => {
  test("a bucket that cannot be reached stops start-up with a message naming it and the endpoint", async () => {
    const backend = await backendEnv("postgres-s3");
    const bucket = "wharf-no-such-bucket";
    await assert.rejects(startWharf({ backend: { ...backend, WHARF_S3_BUCKET: bucket } }), (err: Error) => {
      assert.match(err.message, /exited with [1-9]/);
      assert.match(err.message, /storage\.s3\.bucket/);
      const where = `bucket ${bucket} at ${backend.WHARF_S3_ENDPOINT ?? "?"}: no such bucket`;
      assert.ok(err.message.includes(where), err.message);
      assert.doesNotMatch(err.message, /\n\s+at /, "a message, not a stack trace");
      return true;
    });
  });

  test("without storage.s3.region nor a region in the AWS chain, the store still works", async () => {
    const { WHARF_S3_REGION: _region, ...backend } = await backendEnv("postgres-s3");
    const noRegion = { AWS_REGION: "", AWS_DEFAULT_REGION: "", AWS_CONFIG_FILE: "/nonexistent/aws-config" };
    const server = await startWharf({ backend: { ...backend, ...noRegion } });
    try {
      const repo = uniqueRepo("region");
      const data = randomBlob(1000);
      const d = await pushBlob(server.url, repo, data);
      const res = await fetch(`${server.url}/v2/${repo}/blobs/${d}`);
      assert.equal(res.status, 200);
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(data));
    } finally {
      await server.stop();
    }
  });

  test("storage.s3.publicEndpoint: redirects are signed for the name clients reach S3 under", async () => {
    const endpoint = (await s3Settings()).endpoint;
    const publicEndpoint = endpoint.replace("127.0.0.1", "localhost");
    assert.notEqual(publicEndpoint, endpoint);
    const server = await startWharf({
      backend: await backendEnv("postgres-s3"),
      env: {
        WHARF_STORAGE_REDIRECT: "true",
        WHARF_S3_PUBLIC_ENDPOINT: publicEndpoint,
        WHARF_LOG_LEVEL: "debug",
      },
    });
    try {
      const repo = uniqueRepo("public");
      const data = randomBlob(1000);
      const d = await pushBlob(server.url, repo, data);
      const res = await fetch(`${server.url}/v2/${repo}/blobs/${d}`, { redirect: "manual" });
      assert.equal(res.status, 307);
      const location = res.headers.get("location") ?? "";
      assert.ok(location.startsWith(`${publicEndpoint}/`), location);
      const direct = await fetch(location);
      assert.equal(direct.status, 200, await direct.clone().text());
      assert.ok(Buffer.from(await direct.arrayBuffer()).equals(data));
      // The signed URL is a credential for its lifetime: the debug log shows the Location without it.
      const signature = new URL(location).searchParams.get("X-Amz-Signature") ?? "";
      assert.ok(signature.length > 0);
      assert.match(server.output(), /"location":"[^"]*X-Amz-Signature=/, "the redirect was logged");
      assert.ok(!server.output().includes(signature), "the signature is not logged");
    } finally {
      await server.stop();
    }
  });
});
