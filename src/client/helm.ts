import { createReadStream } from "node:fs";
import { Parser, type ReadEntry } from "tar";
import { parse as parseYaml } from "yaml";

/** Media types Helm (3.8+) uses for charts in OCI registries. */
export const HelmMediaType = {
  Config: "application/vnd.cncf.helm.config.v1+json",
  Chart: "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
} as const;

export interface HelmChart {
  name: string;
  version: string;
  /** Chart.yaml as JSON: the config blob Helm expects. */
  config: Buffer;
}

/**
 * Reads `<chart>/Chart.yaml` from a packaged chart (`helm package` output). Returns undefined for any
 * file that is not one, so that push can fall back to a plain file layer.
 */
export async function readHelmChart(path: string): Promise<HelmChart | undefined> {
  if (!/\.(tgz|tar\.gz)$/.test(path)) return undefined;
  let chartYaml: string | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const parser = new Parser({
        onReadEntry: (entry: ReadEntry) => {
          const parts = entry.path.split("/").filter(Boolean);
          if (
            parts.length === 2 &&
            parts[1] === "Chart.yaml" &&
            entry.type === "File" &&
            chartYaml === undefined
          ) {
            const chunks: Buffer[] = [];
            entry.on("data", (c: Buffer) => chunks.push(c));
            entry.on("end", () => (chartYaml = Buffer.concat(chunks).toString("utf8")));
          } else entry.resume();
        },
      });
      parser.on("error", reject);
      parser.on("end", () => resolve());
      const source = createReadStream(path);
      source.on("error", reject);
      source.pipe(parser as unknown as NodeJS.WritableStream); // Minipass-style writable
    });
  } catch {
    return undefined;
  }
  if (chartYaml === undefined) return undefined;
  const metadata = parseYaml(chartYaml) as Record<string, unknown> | null;
  const name = metadata?.name;
  const version = metadata?.version;
  if (typeof name !== "string" || typeof version !== "string") return undefined;
  return { name, version, config: Buffer.from(JSON.stringify(metadata)) };
}

/** Helm stores a chart version as a tag with `+` replaced (tags cannot hold it). */
export function helmTag(version: string): string {
  return version.replaceAll("+", "_");
}
