/**
 * The server's log: one JSON object a line on stderr with level names; one start-up line saying what
 * runs; an access line per request with client, identity, user agent, bytes, request id (also sent as
 * X-Request-Id) and the OCI error code; more detail at debug; never a secret.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ADMIN, basic, createRobot, startAuthServer, type AuthServer } from "../auth/support.js";
import { digest, randomBlob, uniqueRepo, waitFor } from "../spec/support.js";

interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

/** Everything the server printed but the human `listening on` line (stdout), each line parsed as JSON. */
function logLines(output: string): LogLine[] {
  return output
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("listening on "))
    .map((line) => {
      let parsed: LogLine;
      try {
        parsed = JSON.parse(line) as LogLine;
      } catch {
        assert.fail(`not a JSON line: ${line}`);
      }
      assert.equal(typeof parsed.level, "string", `level as a name: ${line}`);
      return parsed;
    });
}

async function accessLine(auth: AuthServer, requestId: string): Promise<LogLine> {
  let found: LogLine | undefined;
  await waitFor(
    async () => {
      found = logLines(auth.server.output()).find((l) => l.msg === "request" && l.reqId === requestId);
      return found !== undefined;
    },
    10_000,
    `the access line of ${requestId}`,
  );
  return found as LogLine;
}

const UA = "wharf-ops-test/1.0";

describe("server log at info", { timeout: 120_000 }, () => {
  let auth: AuthServer;
  before(async () => {
    auth = await startAuthServer({ WHARF_LOG_LEVEL: "info" });
  });
  after(async () => {
    await auth?.stop();
  });

  test("start-up logs one line with the address, data directory, backends and authentication", () => {
    const started = logLines(auth.server.output()).filter((l) => l.msg === "wharf serve started");
    assert.equal(started.length, 1, auth.server.output());
    const [line] = started as [LogLine];
    assert.equal(line.level, "info");
    assert.equal(line.listen, auth.url);
    assert.equal(line.dataDir, auth.dataDir);
    assert.equal(line.metadata, "sqlite");
    assert.equal(line.storage, "filesystem");
    assert.equal(line.auth, true);
  });

  test("an anonymous refusal carries the proxy's request id, the client, the agent and the error code", async () => {
    const res = await fetch(`${auth.url}/v2/`, {
      headers: { "X-Request-Id": "proxy-id-42", "User-Agent": UA },
    });
    await res.arrayBuffer();
    assert.equal(res.status, 401);
    assert.equal(res.headers.get("x-request-id"), "proxy-id-42");
    const line = await accessLine(auth, "proxy-id-42");
    assert.equal(line.level, "info");
    assert.equal(line.client, "127.0.0.1");
    assert.equal(line.identity, "anonymous");
    assert.equal(line.identityKind, "anonymous");
    assert.equal(line.userAgent, UA);
    assert.equal(line.status, 401);
    assert.equal(line.error, "UNAUTHORIZED");
  });

  test("a request id that is not sane is replaced by a generated one", async () => {
    const res = await fetch(`${auth.url}/v2/`, { headers: { "X-Request-Id": 'bad id "}, {"x' } });
    await res.arrayBuffer();
    const id = res.headers.get("x-request-id") ?? "";
    assert.match(id, /^[0-9a-f-]{36}$/);
    await accessLine(auth, id);
  });

  test("a user's push logs the user and the bytes in and out", async () => {
    const data = randomBlob(5000);
    const res = await fetch(`${auth.url}/v2/${uniqueRepo("ops")}/blobs/uploads/?digest=${digest(data)}`, {
      method: "POST",
      headers: { Authorization: basic(ADMIN), "User-Agent": UA },
      body: new Uint8Array(data),
    });
    await res.arrayBuffer();
    assert.equal(res.status, 201);
    const line = await accessLine(auth, res.headers.get("x-request-id") ?? "");
    assert.equal(line.identity, ADMIN.name);
    assert.equal(line.identityKind, "user");
    assert.equal(line.error, undefined);
    assert.ok(typeof line.bytesIn === "number" && line.bytesIn >= data.length, `bytesIn ${line.bytesIn}`);
    assert.ok(typeof line.bytesOut === "number" && line.bytesOut > 0, `bytesOut ${line.bytesOut}`);
  });

  test("a robot is logged as a robot, and an error by its OCI code", async () => {
    const repo = uniqueRepo("ops");
    const robot = await createRobot(auth.url, `ops-robot-${Date.now()}`, [repo], ["pull"]);
    const res = await fetch(`${auth.url}/v2/${repo}/manifests/missing`, {
      headers: { Authorization: basic(robot) },
    });
    const body = (await res.json()) as { errors: { code: string }[] };
    assert.equal(res.status, 404);
    const line = await accessLine(auth, res.headers.get("x-request-id") ?? "");
    assert.equal(line.identity, robot.name);
    assert.equal(line.identityKind, "robot");
    assert.equal(line.status, 404);
    assert.match(String(line.error), /^(NAME|MANIFEST)_UNKNOWN$/);
    assert.equal(line.error, body.errors[0]?.code);
  });

  test("no secret reaches the log: not the Authorization header, not a password in a query string", async () => {
    const res = await fetch(
      `${auth.url}/auth/token?service=wharf&scope=repository:x/y:pull&password=hunter2-in-query&refresh_token=rt-secret`,
      { headers: { Authorization: basic(ADMIN) } },
    );
    const body = (await res.json()) as { token?: string };
    assert.equal(res.status, 200);
    const line = await accessLine(auth, res.headers.get("x-request-id") ?? "");
    assert.equal(line.identity, ADMIN.name);
    assert.match(String(line.url), /password=%5Bredacted%5D/);
    const output = auth.server.output();
    for (const secret of [
      "hunter2-in-query",
      "rt-secret",
      ADMIN.password,
      basic(ADMIN).slice(6),
      body.token ?? "-",
    ]) {
      assert.ok(!output.includes(secret), `the log contains ${secret}`);
    }
  });
});

describe("server log at debug", { timeout: 120_000 }, () => {
  let auth: AuthServer;
  before(async () => {
    auth = await startAuthServer({ WHARF_LOG_LEVEL: "debug" });
  });
  after(async () => {
    await auth?.stop();
  });

  test("adds the access decision with its reason and the upload session", async () => {
    const repo = uniqueRepo("ops");
    const denied = await fetch(`${auth.url}/v2/${repo}/tags/list`);
    await denied.arrayBuffer();
    const deniedId = denied.headers.get("x-request-id") ?? "";
    const res = await fetch(`${auth.url}/v2/${repo}/blobs/uploads/`, {
      method: "POST",
      headers: { Authorization: basic(ADMIN) },
    });
    await res.arrayBuffer();
    assert.equal(res.status, 202);
    const location = res.headers.get("location") ?? "";
    const session = /\/blobs\/uploads\/([^/?]+)/.exec(location)?.[1];
    assert.ok(session, location);
    const id = res.headers.get("x-request-id") ?? "";
    const line = await accessLine(auth, id);
    assert.match(JSON.stringify(line.responseHeaders), new RegExp(session));

    const lines = logLines(auth.server.output());
    const refused = lines.find((l) => l.reqId === deniedId && l.msg === "access refused");
    assert.ok(refused, "a debug line explaining the refusal");
    assert.equal(refused.level, "debug");
    assert.equal(refused.code, "UNAUTHORIZED");
    assert.equal(refused.repository, repo);
    const granted = lines.find((l) => l.reqId === id && l.msg === "access granted");
    assert.ok(granted, "a debug line for the granted access");
    assert.equal(granted.actor, ADMIN.name);
    assert.equal(granted.requirement, "push");
  });
});
