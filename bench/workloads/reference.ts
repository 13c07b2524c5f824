import { runWorker, runWrkTransfer } from "../lib/load.js";
import type { Target } from "../lib/servers.js";
import { GiB, MiB } from "../lib/stats.js";
import type { Options, Runnable } from "../lib/workload.js";

/**
 * The machine's limits, measured by the same load-generator process type: SHA-256 in node:crypto,
 * sequential write + fsync in the data dirs' filesystem, and a raw loopback transfer of a file
 * from the static server (createReadStream piped to the response) as wrk receives it.
 */
export function referenceWorkload({ quick, scratch }: Options): Runnable {
  const bytes = quick ? 256 * MiB : GiB;
  const reps = quick ? 1 : 3;
  return {
    name: "reference",
    async run(targets: Target[], log) {
      const server = targets.find((t) => t.name === "static");
      if (!server) throw new Error("the static server is not running");
      const seed = `loopback-${Date.now()}`;
      const seeded = await runWorker({
        op: "push",
        base: server.url,
        repo: "ref/loop",
        size: bytes,
        seed,
        count: 1,
      });
      const machine: Record<string, number[]> = { sha256: [], disk: [], loopback: [] };
      for (let rep = 0; rep < reps; rep++) {
        const sha = await runWorker({ op: "sha256", bytes });
        const disk = await runWorker({ op: "disk", dir: scratch, bytes });
        const url = `${server.url}/v2/ref/loop/blobs/${String(seeded.digest)}`;
        const loop = await runWrkTransfer(url, 1, quick ? 3 : 5);
        machine.sha256?.push(bytes / MiB / Number(sha.seconds));
        machine.disk?.push(bytes / 1e6 / Number(disk.seconds));
        machine.loopback?.push(loop.mibs);
        log(
          `  reference rep ${rep + 1}/${reps}: ${Object.entries(machine)
            .map(([k, v]) => `${k}=${v.at(-1)?.toFixed(0)}`)
            .join(" ")}`,
        );
      }
      return {
        name: `reference (${bytes / MiB} MiB)`,
        metrics: [
          { key: "sha256", label: "SHA-256 MiB/s (node:crypto)", higherIsBetter: true },
          { key: "disk", label: "write+fsync MB/s (data dir fs)", higherIsBetter: true },
          { key: "loopback", label: "loopback file GET MiB/s", higherIsBetter: true },
        ],
        samples: { machine },
        raw: {},
      };
    },
  };
}
