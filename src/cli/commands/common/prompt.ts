import { createInterface } from "node:readline";
import { UsageError } from "../../../client/errors.js";

/** A line typed on the terminal; with `hidden`, nothing is echoed (passwords). */
export async function prompt(question: string, hidden = false): Promise<string> {
  if (!process.stdin.isTTY)
    throw new UsageError(
      `cannot ask for ${question.replace(/:\s*$/, "").toLowerCase()}: stdin is not a terminal`,
    );
  process.stderr.write(question);
  if (!hidden) {
    const rl = createInterface({ input: process.stdin, terminal: false });
    const line = await new Promise<string>((resolve) => rl.once("line", resolve));
    rl.close();
    return line;
  }
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding("utf8");
  let value = "";
  try {
    return await new Promise<string>((resolve, reject) => {
      const onData = (chunk: string) => {
        for (const char of chunk) {
          if (char === "\r" || char === "\n" || char === "\u0004") {
            stdin.off("data", onData);
            return resolve(value);
          }
          if (char === "\u0003") {
            stdin.off("data", onData);
            return reject(new UsageError("cancelled"));
          }
          if (char === "\u007f" || char === "\b") value = value.slice(0, -1);
          else value += char;
        }
      };
      stdin.on("data", onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write("\n");
  }
}

/** All of stdin, without the trailing newline (for --password-stdin). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}
