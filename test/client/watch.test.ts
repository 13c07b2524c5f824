import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { startWharf, type TestServer } from "../helpers/server.js";
import { startProxy, type TestProxy } from "./proxy.js";
import { startDistribution, type Distribution } from "./distribution.js";
import { cliHome, type CliHome } from "./cli.js";
import { ok } from "./registries.js";

const bin = join(resolve(import.meta.dirname, "..", ".."), "bin", "wharf");
/** Generous: a bound for a machine under load, not a measurement. */
const WAIT_MS = 60_000;

/** A running `wharf watch`, its output as it arrives. */
interface Watcher {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves once `predicate` holds of the output so far (checked on every chunk). */
  waitFor(what: string, predicate: () => boolean): Promise<void>;
  exited: Promise<number | null>;
}

/** Watchers a failed test left running: killed after each suite so the run can end. */
const running = new Set<ChildProcess>();
function stopLeftovers(): void {
  for (const child of running)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  running.clear();
}

function startWatch(cli: CliHome, args: string[]): Watcher {
  const child = spawn(process.execPath, [bin, "watch", ...args], {
    env: cli.env,
    cwd: cli.dir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let stdout = "";
  let stderr = "";
  const waiters = new Set<() => void>();
  const wake = () => waiters.forEach((w) => w());
  child.stdout?.setEncoding("utf8").on("data", (d: string) => ((stdout += d), wake()));
  child.stderr?.setEncoding("utf8").on("data", (d: string) => ((stderr += d), wake()));
  const exited = once(child, "exit").then(([code]) => code as number | null);
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    waitFor: (what, predicate) =>
      new Promise((resolvePromise, reject) => {
        const check = () => {
          if (!predicate()) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolvePromise();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${what} within ${WAIT_MS} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
        }, WAIT_MS);
        waiters.add(check);
        check();
      }),
  };
}

const lines = (text: string) => text.split("\n").filter((l) => l !== "");

/** Resolves once the file has `count` lines. */
async function fileLines(path: string, count: number): Promise<string[]> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const found = lines(await readFile(path, "utf8").catch(() => ""));
    if (found.length >= count) return found;
    if (Date.now() > deadline)
      throw new Error(`${path} has ${found.length} of ${count} lines after ${WAIT_MS} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves once `count` requests matching `predicate` arrived after index `from` of `proxy.seen`. */
async function requestsAfter(
  proxy: TestProxy,
  from: number,
  count: number,
  predicate: (url: string) => boolean,
): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (proxy.seen.slice(from).filter((r) => predicate(r.url)).length < count) {
    if (Date.now() > deadline) throw new Error(`fewer than ${count} matching requests within ${WAIT_MS} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const isProbe = (url: string) => /\/tags\/list\?n=1$/.test(url);

describe("wharf watch against wharf serve (through a proxy that can go away)", { timeout: 300_000 }, () => {
  let wharf: TestServer;
  let proxy: TestProxy;
  let cli: CliHome;
  let down = false;
  const digests: Record<string, string> = {};

  const push = async (tag: string) => {
    const file = join(cli.dir, `${tag}.txt`);
    await writeFile(file, `content of ${tag}\n`);
    digests[tag] = ok(await cli.run(["push", `${wharf.host}/team/app:${tag}`, file])).stdout.trim();
  };

  before(async () => {
    wharf = await startWharf();
    proxy = await startProxy({
      target: wharf.url,
      // Gone: every connection dropped, as when the registry host is down.
      handle: (req) => {
        if (!down) return false;
        req.socket.destroy();
        return true;
      },
    });
    cli = await cliHome();
    await push("v1.0.0");
  });
  after(async () => {
    stopLeftovers();
    await proxy.close();
    await wharf.stop();
    await cli.cleanup();
  });

  test("prints the current version, then each new matching one, runs --exec with its env, backs off and recovers", async () => {
    const log = join(cli.dir, "exec.log");
    const watcher = startWatch(cli, [
      `${proxy.host}/team/app`,
      "--semver",
      "^1",
      "--interval",
      "1s",
      "--exec",
      `printf '%s %s %s\\n' "$WHARF_TAG" "$WHARF_DIGEST" "$WHARF_REFERENCE" >> '${log}'`,
    ]);
    const hasLines = (n: number) => () => lines(watcher.stdout()).length >= n;
    await watcher.waitFor("first line", hasLines(1));
    assert.deepEqual(
      lines(watcher.stdout()),
      [`v1.0.0@${digests["v1.0.0"]}`],
      "the version current at start",
    );

    // Nothing changed: each poll is one conditional request for a one-tag page, nothing else.
    const mark = proxy.seen.length;
    await requestsAfter(proxy, mark, 3, isProbe);
    const quiet = proxy.seen.slice(mark).map((r) => r.url);
    assert.deepEqual(
      quiet.filter((url) => !isProbe(url)),
      [],
      "only probes while nothing changed",
    );

    // A version outside the range prints nothing: two polls after it (the first saw the change and
    // resolved, the second shows that resolution finished), still one line.
    await push("v2.0.0");
    await requestsAfter(proxy, proxy.seen.length, 2, isProbe);
    assert.equal(lines(watcher.stdout()).length, 1, watcher.stdout());

    await push("v1.1.0");
    await watcher.waitFor("v1.1.0", hasLines(2));
    assert.equal(lines(watcher.stdout())[1], `v1.1.0@${digests["v1.1.0"]}`);

    // The registry goes away: a message with the backoff, then it comes back and the watch goes on.
    down = true;
    await watcher.waitFor("a backoff message", () => /retrying in \d+s/.test(watcher.stderr()));
    assert.match(watcher.stderr(), /wharf: watch 127\.0\.0\.1:\d+\/team\/app: .*; retrying in 2s/);
    down = false;
    await push("v1.2.0");
    await watcher.waitFor("recovery", () =>
      /Watching 127\.0\.0\.1:\d+\/team\/app again/.test(watcher.stderr()),
    );
    await watcher.waitFor("v1.2.0", hasLines(3));
    assert.equal(lines(watcher.stdout())[2], `v1.2.0@${digests["v1.2.0"]}`);
    // --exec ran for each, one at a time, in order, with the documented environment.
    assert.deepEqual(
      await fileLines(log, 3),
      ["v1.0.0", "v1.1.0", "v1.2.0"].map(
        (t) => `${t} ${digests[t]} ${proxy.host}/team/app:${t}@${digests[t]}`,
      ),
    );

    watcher.child.kill("SIGINT");
    assert.equal(await watcher.exited, 0, watcher.stderr());
    assert.match(watcher.stderr(), /Stopped watching/);
    assert.deepEqual(
      lines(watcher.stdout()),
      ["v1.0.0", "v1.1.0", "v1.2.0"].map((t) => `${t}@${digests[t]}`),
      "one line per new version, none for v2.0.0",
    );
    assert.equal(lines(await readFile(log, "utf8")).length, 3, "no --exec for anything else");
  });

  test("--json: one object per version; SIGTERM stops it cleanly", async () => {
    const watcher = startWatch(cli, [
      `${proxy.host}/team/app`,
      "--semver",
      "~1.1",
      "--interval",
      "1s",
      "--json",
    ]);
    await watcher.waitFor("a JSON line", () => lines(watcher.stdout()).length >= 1);
    const first = JSON.parse(lines(watcher.stdout())[0] ?? "") as Record<string, unknown>;
    assert.equal(first.tag, "v1.1.0");
    assert.equal(first.digest, digests["v1.1.0"]);
    assert.equal(first.reference, `${proxy.host}/team/app:v1.1.0@${digests["v1.1.0"]}`);
    assert.equal(first.initial, true);
    watcher.child.kill("SIGTERM");
    assert.equal(await watcher.exited, 0, watcher.stderr());
  });

  test("bad input: a tag in the reference, no policy, an interval under 1s", async () => {
    for (const args of [
      [`${proxy.host}/team/app:v1`, "--semver", "^1"],
      [`${proxy.host}/team/app`],
      [`${proxy.host}/team/app`, "--semver", "^1", "--interval", "0s"],
      [`${proxy.host}/team/app`, "--semver", "^1", "--interval", "soon"],
    ]) {
      const result = await cli.run(["watch", ...args]);
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, /^wharf: /);
    }
  });
});

describe(
  "wharf watch against Distribution 2.8 (no ETag: resolved at every poll)",
  { timeout: 300_000 },
  () => {
    let distribution: Distribution;
    let cli: CliHome;

    before(async () => {
      distribution = await startDistribution();
      cli = await cliHome();
    });
    after(async () => {
      await distribution.stop();
      await cli.cleanup();
    });

    test("a repository that does not exist yet, then its first and next versions", async () => {
      const watcher = startWatch(cli, [
        `${distribution.host}/team/app`,
        "--semver",
        ">=1.0.0",
        "--interval",
        "1s",
      ]);
      await watcher.waitFor("the not-found note", () =>
        /(not found|not known to registry) \(yet\): watching on/.test(watcher.stderr()),
      );
      const file = join(cli.dir, "a.txt");
      await writeFile(file, "a\n");
      const a = ok(await cli.run(["push", `${distribution.host}/team/app:1.0.0`, file])).stdout.trim();
      await watcher.waitFor("1.0.0", () => lines(watcher.stdout()).length >= 1);
      await writeFile(file, "b\n");
      const b = ok(await cli.run(["push", `${distribution.host}/team/app:1.0.1`, file])).stdout.trim();
      await watcher.waitFor("1.0.1", () => lines(watcher.stdout()).length >= 2);
      watcher.child.kill("SIGINT");
      assert.equal(await watcher.exited, 0, watcher.stderr());
      assert.deepEqual(lines(watcher.stdout()), [`1.0.0@${a}`, `1.0.1@${b}`]);
    });
  },
);

describe("wharf watch: caches it cannot trust, downgrades, a hung --exec", { timeout: 300_000 }, () => {
  let distribution: Distribution;
  let proxy: TestProxy;
  let cli: CliHome;
  let faked = 0;
  const ETAG = '"the-same-for-ever"';

  const push = async (repo: string, tag: string, content = tag, force = false) => {
    const file = join(cli.dir, `${repo.replace(/\W/g, "-")}-${tag}.txt`);
    await writeFile(file, `content of ${content}\n`);
    const args = ["push", `${distribution.host}/${repo}:${tag}`, file, ...(force ? ["--force"] : [])];
    return ok(await cli.run(args)).stdout.trim();
  };

  before(async () => {
    distribution = await startDistribution();
    // A cache in front of Distribution that gives every tag list one ETag and answers 304 to it, as a
    // CDN or proxy caching the one-tag page may: it says nothing of the tags after that page.
    proxy = await startProxy({
      target: distribution.url,
      handle: async (req, res, forward) => {
        if (!/\/tags\/list/.test(req.url ?? "")) return false;
        if (req.headers["if-none-match"] === ETAG) {
          faked++;
          res.writeHead(304, { etag: ETAG }).end();
          return true;
        }
        const answer = await forward();
        res.writeHead(answer.status, { ...answer.headers, etag: ETAG }).end(answer.body);
        return true;
      },
    });
    cli = await cliHome();
  });
  after(async () => {
    stopLeftovers();
    await proxy.close();
    await distribution.stop();
    await cli.cleanup();
  });

  test("an ETag from a registry that is not Wharf is not trusted: a new version still shows", async () => {
    const a = await push("cached/app", "1.0.0");
    const watcher = startWatch(cli, [`${proxy.host}/cached/app`, "--semver", "^1", "--interval", "1s"]);
    await watcher.waitFor("1.0.0", () => lines(watcher.stdout()).length >= 1);
    const b = await push("cached/app", "1.1.0");
    await watcher.waitFor("1.1.0", () => lines(watcher.stdout()).length >= 2);
    watcher.child.kill("SIGINT");
    assert.equal(await watcher.exited, 0, watcher.stderr());
    assert.deepEqual(lines(watcher.stdout()), [`1.0.0@${a}`, `1.1.0@${b}`]);
    assert.equal(faked, 0, "no conditional request: the ETag is not Wharf's");
  });

  test("the highest version deleted: a note, no report and no --exec for the lower one; a newer one and a moved one are reported", async () => {
    const log = join(cli.dir, "downgrade.log");
    const repo = "down/app";
    const d130 = await push(repo, "1.3.0");
    const d140 = await push(repo, "1.4.0");
    const watcher = startWatch(cli, [
      `${distribution.host}/${repo}`,
      "--semver",
      "^1",
      "--interval",
      "1s",
      "--exec",
      `printf '%s\\n' "$WHARF_TAG" >> '${log}'`,
    ]);
    await watcher.waitFor("1.4.0", () => lines(watcher.stdout()).length >= 1);
    ok(await cli.run(["rm", `${distribution.host}/${repo}@${d140}`]));
    await watcher.waitFor("the note", () =>
      /1\.4\.0 is gone; the highest matching is now 1\.3\.0 \(not reported\)/.test(watcher.stderr()),
    );
    const d150 = await push(repo, "1.5.0");
    await watcher.waitFor("1.5.0", () => lines(watcher.stdout()).length >= 2);
    // The same tag pushed again with other content: a move, reported.
    const moved = await push(repo, "1.5.0", "1.5.0, rebuilt", true);
    await watcher.waitFor("1.5.0 moved", () => lines(watcher.stdout()).length >= 3);
    watcher.child.kill("SIGINT");
    assert.equal(await watcher.exited, 0, watcher.stderr());
    assert.deepEqual(lines(watcher.stdout()), [`1.4.0@${d140}`, `1.5.0@${d150}`, `1.5.0@${moved}`]);
    assert.notEqual(moved, d150);
    assert.ok(!lines(watcher.stdout()).includes(`1.3.0@${d130}`));
    assert.equal((watcher.stderr().match(/is gone/g) ?? []).length, 1, "the note once, not at every poll");
    assert.deepEqual(await fileLines(log, 3), ["1.4.0", "1.5.0", "1.5.0"]);
  });

  test("a second SIGINT stops a hung --exec (its process group) and exits", async () => {
    await push("hung/app", "1.0.0");
    const pidFile = join(cli.dir, "exec.pid");
    const watcher = startWatch(cli, [
      `${distribution.host}/hung/app`,
      "--semver",
      "^1",
      "--interval",
      "1s",
      "--exec",
      `echo $$ > '${pidFile}'; sleep 300; echo not killed`,
    ]);
    const [pidLine] = await fileLines(pidFile, 1);
    const pid = Number(pidLine);
    try {
      await stopsWithSecondSignal(watcher, pid);
    } finally {
      // Whatever happened, nothing of the command outlives the test.
      for (const target of pid > 0 ? [-pid, pid] : []) {
        try {
          process.kill(target, "SIGKILL");
        } catch {
          // Gone already (as it should be).
        }
      }
    }
  });
});

/** Two SIGINTs to a watch whose --exec (process group `pid`) hangs. */
async function stopsWithSecondSignal(watcher: Watcher, pid: number): Promise<void> {
  assert.ok(pid > 0, `pid ${pid}`);
  assert.equal(processGroupAlive(pid), true, "the command runs");
  watcher.child.kill("SIGINT");
  await watcher.waitFor("the waiting note", () => /Waiting for --exec to finish/.test(watcher.stderr()));
  assert.equal(watcher.child.exitCode, null, "the first signal waits for the command");
  watcher.child.kill("SIGINT");
  assert.equal(await watcher.exited, 130, watcher.stderr());
  assert.match(watcher.stderr(), /stopped --exec \(SIGTERM to process group \d+\)/);
  // The group goes once its processes handle the SIGTERM: bounded by a number of checks, not a time.
  let checks = 0;
  while (processGroupAlive(pid) && checks++ < 200) await new Promise((r) => setTimeout(r, 50));
  assert.equal(processGroupAlive(pid), false, "the command's process group is gone");
  assert.doesNotMatch(watcher.stderr(), /not killed/);
}

/** Whether any process of the group `pgid` is still alive. */
function processGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}
