/**
 * Connections refused early or left idle are closed by the server: a client trickling a huge body it
 * was refused (401, 404, 413) cannot hold a connection, and a silent keep-alive connection honours
 * http.idleTimeout. Raw sockets, because fetch cannot trickle or sit idle on purpose.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { once } from "node:events";
import { startWharf, type TestServer } from "../helpers/server.js";
import { ADMIN, basic, startAuthServer, type AuthServer } from "../auth/support.js";
import { digest, parseRawResponse, rawConnect, randomBlob, uniqueRepo } from "../spec/support.js";

const HUGE = 100_000_000;

interface Trickler {
  /** Resolves with what the server sent once it closed the connection. */
  closed: Promise<string>;
  stop(): void;
}

/**
 * Sends a request head announcing a huge body, then one body byte every 200 ms, like the attacker:
 * half-open allowed, so the server's FIN alone does not end it; only the server dropping it does.
 */
async function trickle(base: string, method: string, path: string, headers: Record<string, string> = {}) {
  const url = new URL(base);
  const socket: Socket = connect({ port: Number(url.port), host: url.hostname, allowHalfOpen: true });
  await once(socket, "connect");
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${new URL(base).host}`, `Content-Length: ${HUGE}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  socket.write(`${lines.join("\r\n")}\r\n\r\n`);
  const chunks: Buffer[] = [];
  socket.on("data", (c: Buffer) => chunks.push(c));
  const timer = setInterval(() => {
    if (!socket.destroyed && socket.writable) socket.write("x");
  }, 200);
  const closed = new Promise<string>((resolve) => {
    socket.once("close", () => {
      clearInterval(timer);
      resolve(Buffer.concat(chunks).toString("latin1"));
    });
  });
  socket.on("error", () => undefined); // a reset after the response is fine: closed is what counts
  const trickler: Trickler = {
    closed,
    stop() {
      clearInterval(timer);
      socket.destroy();
    },
  };
  return trickler;
}

/** Waits for every trickler to be closed by the server; a generous bound, not a timing assertion. */
async function allClosed(tricklers: Trickler[], boundMs: number): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`connections still open after ${boundMs} ms`)), boundMs);
  });
  try {
    return await Promise.race([Promise.all(tricklers.map((t) => t.closed)), bound]);
  } finally {
    clearTimeout(timer);
    for (const t of tricklers) t.stop();
  }
}

describe("refused requests with unread bodies (auth on)", { timeout: 120_000 }, () => {
  let auth: AuthServer;
  before(async () => {
    auth = await startAuthServer();
  });
  after(async () => {
    await auth?.stop();
  });

  test("many unauthenticated PUTs trickling a huge body are answered 401 and closed, while a real client is served", async () => {
    const count = 60;
    const tricklers = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        trickle(auth.url, "PUT", `/v2/team/r${i}/blobs/uploads/some-id?digest=${digest("x")}`),
      ),
    );
    // While they trickle, a client with credentials gets its answers.
    const res = await fetch(`${auth.url}/v2/`, { headers: { Authorization: basic(ADMIN) } });
    await res.arrayBuffer();
    assert.equal(res.status, 200);

    const responses = await allClosed(tricklers, 30_000);
    assert.equal(responses.length, count);
    for (const text of responses) {
      const response = parseRawResponse(text);
      assert.equal(response.status, 401, text);
      assert.equal(response.headers.connection, "close", text);
    }
    const again = await fetch(`${auth.url}/v2/`, { headers: { Authorization: basic(ADMIN) } });
    await again.arrayBuffer();
    assert.equal(again.status, 200);
  });

  test("an honest client whose large body is refused still reads the 401", async () => {
    const res = await fetch(`${auth.url}/v2/team/big/blobs/uploads/?digest=${digest("x")}`, {
      method: "POST",
      body: new Uint8Array(randomBlob(4 * 1024 * 1024)),
    });
    await res.arrayBuffer();
    assert.equal(res.status, 401);
    assert.equal(res.headers.get("connection"), "close");
  });
});

describe("refused requests with unread bodies (open server)", { timeout: 120_000 }, () => {
  let server: TestServer;
  before(async () => {
    server = await startWharf();
  });
  after(async () => {
    await server?.stop();
  });

  test("a PUT to an unknown upload (404) and an oversized manifest (413) trickling their bodies are closed", async () => {
    const repo = uniqueRepo("ops");
    const tricklers = [
      await trickle(server.url, "PUT", `/v2/${repo}/blobs/uploads/no-such-upload?digest=${digest("x")}`),
      await trickle(server.url, "PUT", `/v2/${repo}/manifests/v1`, {
        "Content-Type": "application/vnd.oci.image.manifest.v1+json",
      }),
    ];
    const [unknown = "", oversized = ""] = await allClosed(tricklers, 30_000);
    assert.equal(parseRawResponse(unknown).status, 404, unknown);
    assert.equal(parseRawResponse(oversized).status, 413, oversized);
    for (const text of [unknown, oversized]) assert.equal(parseRawResponse(text).headers.connection, "close");
  });

  test("a request whose body was read keeps its connection", async () => {
    const data = randomBlob(1000);
    const socket = await rawConnect(server.url);
    const head = [
      `POST /v2/${uniqueRepo("ops")}/blobs/uploads/?digest=${digest(data)} HTTP/1.1`,
      `Host: ${new URL(server.url).host}`,
      `Content-Length: ${data.length}`,
    ];
    socket.write(`${head.join("\r\n")}\r\n\r\n`);
    socket.write(data);
    const [chunk] = (await new Promise<Buffer[]>((resolve) =>
      socket.once("data", (c: Buffer) => resolve([c])),
    )) as [Buffer];
    socket.destroy();
    const response = parseRawResponse(chunk.toString("latin1"));
    assert.equal(response.status, 201);
    assert.notEqual(response.headers.connection, "close");
  });
});

describe("idle keep-alive connections", { timeout: 120_000 }, () => {
  let server: TestServer;
  before(async () => {
    server = await startWharf({ env: { WHARF_IDLE_TIMEOUT: "1s" } });
  });
  after(async () => {
    await server?.stop();
  });

  test("a silent keep-alive connection is closed after http.idleTimeout", async () => {
    const socket = await rawConnect(server.url);
    let received = "";
    socket.on("data", (c: Buffer) => (received += c.toString("latin1")));
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.write(`GET /v2/ HTTP/1.1\r\nHost: ${new URL(server.url).host}\r\nConnection: keep-alive\r\n\r\n`);
    // The default keep-alive timeout (65 s) is far beyond this bound; a 1 s idle timeout is well within.
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<"open">((resolve) => (timer = setTimeout(() => resolve("open"), 20_000)));
    const outcome = await Promise.race([closed.then(() => "closed" as const), bound]);
    clearTimeout(timer);
    socket.destroy();
    assert.equal(outcome, "closed", "the idle keep-alive connection was not closed");
    const response = parseRawResponse(received);
    assert.equal(response.status, 200);
    assert.notEqual(response.headers.connection, "close", "the server should have offered keep-alive");
  });
});
