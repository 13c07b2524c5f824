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

const BINARY_UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/**
 * wrk GETs of one URL for `seconds` over `connections` connections: MiB/s received (a body cut at the
 * deadline counts for what arrived). A C client, so big pulls measure the server rather than Node's
 * own HTTP client (which tops out near 1 GiB/s here).
 */
export async function runWrkTransfer(url: string, connections: number, seconds: number) {
  const threads = Math.min(2, connections);
  const args = ["-t", String(threads), "-c", String(connections), "-d", `${seconds}s`, url];
  const { stdout } = await exec("wrk", args);
  const transfer = /Transfer\/sec:\s+([\d.]+)([KMGT]?B)/.exec(stdout);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0);
  if (!transfer) throw new Error(`could not parse wrk output:\n${stdout}`);
  const bytesPerSecond = Number(transfer[1]) * (BINARY_UNITS[transfer[2] ?? "B"] ?? 1);
  return { mibs: bytesPerSecond / 1024 ** 2, errors: non2xx };
}
