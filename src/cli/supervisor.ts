import cluster, { type Worker } from "node:cluster";
import type { Logger } from "pino";
import type { ServerConfig } from "./config.js";

/** Tells a worker which one it is (for its log lines). */
export const WORKER_INDEX_ENV = "WHARF_WORKER_INDEX";
/** A worker that dies this soon after starting counts as a failed start, not a crash to recover from. */
const FAILED_START_MS = 10_000;
/** Failed starts in a row after which the supervisor gives up (a broken configuration, not bad luck). */
const MAX_FAILED_STARTS = 5;

interface Prepared {
  lock: { setUrl(url: string): void } | undefined;
  release(): void;
}

/**
 * Runs `count` workers sharing the listening address (node:cluster hands connections to them in turn)
 * and keeps that many alive: a worker that dies is replaced. Prints `listening on URL` once all of them
 * listen, stops them all on SIGTERM/SIGINT, and exits with the first worker's failure if they cannot
 * start at all.
 */
export async function supervise(
  config: ServerConfig,
  log: Logger,
  count: number,
  prepared: Prepared,
): Promise<void> {
  const started = new Map<number, number>();
  const listening = new Set<number>();
  let announced = false;
  let stopping = false;
  let failedStarts = 0;

  const fork = (index: number): Worker => {
    const worker = cluster.fork({ [WORKER_INDEX_ENV]: String(index) });
    started.set(worker.id, Date.now());
    worker.on("listening", (address) => {
      listening.add(index);
      failedStarts = 0;
      if (announced || listening.size < count) return;
      announced = true;
      const host = config.listen.host.includes(":") ? `[${config.listen.host}]` : config.listen.host;
      const url = `http://${host}:${address.port}`;
      prepared.lock?.setUrl(url);
      log.info({ listen: url, workers: count, pid: process.pid }, "wharf serve workers started");
      process.stdout.write(`listening on ${url}\n`);
    });
    worker.on("exit", (code, signal) => {
      listening.delete(index);
      if (stopping) return;
      const early = Date.now() - (started.get(worker.id) ?? 0) < FAILED_START_MS;
      if (!announced || (early && ++failedStarts >= MAX_FAILED_STARTS)) {
        // It said why on stderr; the same exit status tells scripts it could not start.
        stopAll(typeof code === "number" && code !== 0 ? code : 1);
        return;
      }
      log.error({ worker: index, code, signal }, "a worker stopped unexpectedly; starting another");
      fork(index);
    });
    return worker;
  };

  const stopAll = (exitCode: number) => {
    if (stopping) return;
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    for (const worker of workers) worker.process.kill("SIGTERM");
    // Each worker has the shutdown timeout for its requests; then it is killed.
    const timer = setTimeout(() => {
      for (const worker of workers) worker.process.kill("SIGKILL");
    }, config.shutdownTimeoutMs + 2000);
    timer.unref();
    // A worker that failed to stop cleanly (an error, the timeout's SIGKILL) makes the whole stop fail.
    const exited = workers.map((w) =>
      w.isDead()
        ? Promise.resolve(true)
        : new Promise<boolean>((r) => w.once("exit", (code, signal) => r(code === 0 && !signal))),
    );
    void Promise.all(exited).then((clean) => {
      prepared.release();
      const status = exitCode !== 0 ? exitCode : clean.every(Boolean) ? 0 : 1;
      if (status === 0) log.info("stopped");
      else log.error({ exitCode: status }, "stopped, but not every worker stopped cleanly");
      process.exit(status);
    });
  };

  for (let index = 0; index < count; index++) fork(index);
  const onSignal = (signal: string) => {
    log.info({ signal }, "stopping the workers");
    stopAll(0);
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
}
