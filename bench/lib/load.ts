import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Result, Spec } from "../load/worker.js";
import { ROOT } from "./servers.js";

const exec = promisify(execFile);

/** Runs one measurement in a fresh load-generator process (bench/load/worker.ts). */
export async function runWorker(spec: Spec): Promise<Result> {
  const script = join(ROOT, "bench/load/worker.ts");
  try {
    const { stdout } = await exec(process.execPath, ["--import", "tsx", script, JSON.stringify(spec)], {
      maxBuffer: 16 * 1024 * 1024,
      cwd: ROOT,
    });
    return JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as Result;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? "";
    throw new Error(`load worker ${spec.op} failed: ${stderr.trim() || String(err)}`);
  }
}

export interface WrkResult {
  rate: number;
  p50: number;
  p99: number;
  errors: number;
}

/** Milliseconds from wrk's "1.23ms" / "456.00us" / "1.01s". */
function toMs(value: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(value);
  if (!match) return NaN;
  const n = Number(match[1]);
  return { us: n / 1000, ms: n, s: n * 1000, m: n * 60_000 }[match[2] as "us" | "ms" | "s" | "m"];
}

/** wrk with manifest.lua (GET or HEAD with Accept), --latency for p50/p99. */
export async function runWrk(url: string, method: string, connections: number, seconds: number) {
  const threads = Math.min(2, connections);
  const args = ["-t", String(threads), "-c", String(connections), "-d", `${seconds}s`, "--latency"];
  args.push("-s", join(ROOT, "bench/load/manifest.lua"), url);
  const { stdout } = await exec("wrk", args, { env: { ...process.env, WRK_METHOD: method } });
  const line = (re: RegExp) => re.exec(stdout)?.[1];
  const non2xx = Number(line(/Non-2xx or 3xx responses:\s+(\d+)/) ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const socketErrors = socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  const result: WrkResult = {
    rate: Number(line(/Requests\/sec:\s+([\d.]+)/)),
    p50: toMs(line(/^\s+50%\s+(\S+)/m) ?? ""),
    p99: toMs(line(/^\s+99%\s+(\S+)/m) ?? ""),
    errors: non2xx + socketErrors,
  };
  if (!Number.isFinite(result.rate)) throw new Error(`could not parse wrk output:\n${stdout}`);
  return result;
}
