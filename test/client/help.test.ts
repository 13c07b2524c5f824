import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { cliHome, type CliHome } from "./cli.js";

const TRANSPORT = ["--plain-http", "--ca-file", "--timeout", "--concurrency", "--chunk-size"];

/** Every command and subcommand, from `wharf help`'s own lists (so new commands are covered too). */
async function allCommands(cli: CliHome): Promise<string[][]> {
  const names = async (path: string[]) => {
    const help = await cli.run([...path, "--help"]);
    assert.equal(help.code, 0, help.stderr);
    const section = help.stdout.split(/^Commands:$/m)[1] ?? "";
    return [...section.matchAll(/^ {2}([a-z][a-z-]*)/gm)]
      .map((m) => m[1] as string)
      .filter((name) => name !== "help");
  };
  const groups = await inParallel(await names([]), async (name) => [
    [name],
    ...(await names([name])).map((sub) => [name, sub]),
  ]);
  return groups.flat();
}

/** `work` over every item, a few CLI processes at a time (each spends most of a second starting). */
async function inParallel<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return results;
}

describe("--help", () => {
  let cli: CliHome;
  before(async () => {
    cli = await cliHome();
  });
  after(async () => {
    await cli.cleanup();
  });

  test("offers each command only the options it uses", async () => {
    const pull = await cli.run(["pull", "--help"]);
    assert.doesNotMatch(pull.stdout, /--chunk-size/, "pull uploads nothing");
    assert.match(pull.stdout, /--concurrency/);
    assert.match(pull.stdout, /--timeout/);
    for (const command of [["logout"], ["cache", "ls"], ["cache", "prune"], ["cache", "verify"]]) {
      const help = await cli.run([...command, "--help"]);
      assert.equal(help.code, 0, help.stderr);
      for (const flag of TRANSPORT)
        assert.ok(!help.stdout.includes(flag), `${command.join(" ")} --help offers ${flag}`);
    }
    const push = await cli.run(["push", "--help"]);
    for (const flag of TRANSPORT) assert.ok(push.stdout.includes(flag), `push --help lacks ${flag}`);
  });

  test("command groups have examples, and defaults print unquoted", async () => {
    for (const group of ["user", "token", "access", "cache"]) {
      const help = await cli.run([group, "--help"]);
      assert.match(help.stdout, /^Examples:\n {2}wharf /m, `${group} --help has examples`);
    }
    const commands = await allCommands(cli);
    assert.ok(commands.length > 20, `found the commands: ${commands.map((c) => c.join(" ")).join(", ")}`);
    await inParallel(commands, async (command) => {
      const help = await cli.run([...command, "--help"]);
      assert.equal(help.code, 0, `${command.join(" ")}: ${help.stderr}`);
      assert.doesNotMatch(help.stdout, /default: ["[]/, `${command.join(" ")} --help quotes a default`);
    });
    const pull = await cli.run(["pull", "--help"]);
    assert.match(pull.stdout, /\(default:\s+\.\)/);
    assert.match(pull.stdout, /\(default: 1h\)/);
    assert.match((await cli.run(["info", "--help"])).stdout, /\(default: 2m\)/);
  });
});
