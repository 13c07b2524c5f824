import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { createServer as createHttpServer } from "node:http";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join, resolve } from "node:path";
import { startWharf, type TestServer } from "../helpers/server.js";
import { cliHome, type CliHome } from "./cli.js";

/** A TCP server that accepts every connection and never says a word (a hung registry). */
async function silentServer(
  port = 0,
): Promise<{ port: number; connections: () => number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
  });
  server.listen(port, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : 0,
    connections: () => accepted,
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, "close");
    },
  };
}

// Generous bounds on the test, not assertions on time: without a deadline these took five minutes.
const BOUND = { timeout: 90_000 };

describe("deadlines against a registry that accepts connections and never answers", () => {
  let cli: CliHome;
  before(async () => {
    // The real retry policy: a silent registry must not be retried for minutes.
    cli = await cliHome();
    delete cli.env.WHARF_RETRIES;
    delete cli.env.WHARF_RETRY_DELAY_MS;
  });
  after(async () => {
    await cli.cleanup();
  });

  test("wharf info fails at its --timeout with a message naming the host", BOUND, async () => {
    const silent = await silentServer();
    try {
      const host = `127.0.0.1:${silent.port}`;
      const result = await cli.run(["info", `${host}/team/app:v1`, "--timeout", "3s"]);
      assert.equal(result.code, 7, result.stderr);
      assert.match(
        result.stderr,
        new RegExp(`${host} did not answer in time: gave up after 3s \\(--timeout 3s\\)`),
      );
      assert.ok(silent.connections() >= 1, "it did connect");
      const bad = await cli.run(["info", `${host}/team/app:v1`, "--timeout", "soon"]);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, /--timeout soon: expected a duration/);
    } finally {
      await silent.close();
    }
  });

  test("a host that never completes the TCP handshake fails at the connect timeout", BOUND, async (t) => {
    if (!existsSync("/usr/bin/python3"))
      return t.skip("python3 is not installed: no listener that does not accept");
    // A listening socket with a backlog of 0 that never accepts: once one connection fills the backlog,
    // further SYNs are dropped, as by a firewall. (Node always accepts, so this is Python.)
    const listener = spawn("/usr/bin/python3", [
      "-c",
      "import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(120)",
    ]);
    try {
      const [line] = (await once(listener.stdout, "data")) as [Buffer];
      const port = Number(line.toString().trim());
      const filler = connect(port, "127.0.0.1");
      filler.on("error", () => undefined);
      await once(filler, "connect");
      const result = await cli.run(["info", `127.0.0.1:${port}/team/app:v1`, "--timeout", "80s"]);
      filler.destroy();
      assert.equal(result.code, 7, result.stderr);
      assert.match(result.stderr, new RegExp(`could not connect to 127\\.0\\.0\\.1:${port} within 10 s`));
    } finally {
      listener.kill();
    }
  });

  describe("with the artifact in the cache", () => {
    let server: TestServer;
    let host: string;
    before(async () => {
      server = await startWharf();
      host = server.host;
      await writeFile(join(cli.dir, "notes.txt"), "cached notes\n");
      const pushed = await cli.run(["push", `${host}/team/notes:v1`, join(cli.dir, "notes.txt")]);
      assert.equal(pushed.code, 0, pushed.stderr);
      const pulled = await cli.run(["pull", `${host}/team/notes:v1`, "-o", join(cli.dir, "first")]);
      assert.equal(pulled.code, 0, pulled.stderr);
      await server.stop();
    });

    test("pull and info fall back to the cache within seconds, saying why", BOUND, async () => {
      // The same host:port, now hung.
      const silent = await silentServer(Number(host.split(":")[1]));
      try {
        // Default --timeout (minutes): the fallback must not wait for it.
        const out = join(cli.dir, "fallback");
        const pulled = await cli.run(["pull", `${host}/team/notes:v1`, "-o", out]);
        assert.equal(pulled.code, 0, pulled.stderr);
        assert.match(pulled.stderr, new RegExp(`${host} did not answer within 5s: used the cache`));
        assert.equal(await readFile(join(out, "notes.txt"), "utf8"), "cached notes\n");

        const info = await cli.run(["info", `${host}/team/notes:v1`]);
        assert.equal(info.code, 0, info.stderr);
        assert.match(info.stderr, /did not answer within 5s: described from the cache/);
      } finally {
        await silent.close();
      }
    });
  });

  test('"retrying" is said on a terminal (or with --verbose), never into a pipe', BOUND, async (t) => {
    let requests = 0;
    const busy = createHttpServer((req, res) => {
      requests++;
      res.writeHead(503, { "content-type": "application/json" }).end('{"errors":[]}');
    });
    busy.listen(0, "127.0.0.1");
    await once(busy, "listening");
    try {
      const address = busy.address();
      const host = `127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
      const env = { WHARF_RETRIES: "2", WHARF_RETRY_DELAY_MS: "10" };
      const piped = await cli.run(["tags", `${host}/team/app`], { env });
      assert.equal(piped.code, 1, piped.stderr);
      assert.equal(requests, 3, "retried twice");
      assert.doesNotMatch(piped.stderr, /retrying/);
      const verbose = await cli.run(["tags", `${host}/team/app`, "--verbose"], { env });
      assert.match(verbose.stderr, /HTTP 503; retrying/);

      if (!existsSync("/usr/bin/script"))
        return t.skip("script(1) is not installed: no terminal to test with");
      const bin = resolve(import.meta.dirname, "..", "..", "bin", "wharf");
      // script(1) gives the command a pseudo-terminal; asynchronously, so this process keeps serving.
      const child = spawn(
        "/usr/bin/script",
        ["-qec", `${process.execPath} ${bin} tags ${host}/team/app`, "/dev/null"],
        {
          env: { ...cli.env, ...env },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let terminal = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => (terminal += d));
      await once(child, "close");
      assert.match(terminal, /HTTP 503; retrying/, "on a terminal, the retries are shown");
    } finally {
      busy.close();
    }
  });
});
