import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { rawTar } from "./tar-fixtures.js";

/** What a user pushes: a directory of Kubernetes manifests, a packaged Helm chart and a plain file. */
export interface Workspace {
  manifests: string;
  chart: string;
  notes: string;
}

export async function makeWorkspace(dir: string): Promise<Workspace> {
  const manifests = join(dir, "k8s");
  await mkdir(join(manifests, "base"), { recursive: true });
  await writeFile(
    join(manifests, "deployment.yaml"),
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n",
  );
  await writeFile(join(manifests, "service.yaml"), "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n");
  await writeFile(join(manifests, "base", "kustomization.yaml"), "resources:\n  - ../deployment.yaml\n");
  const chart = join(dir, "mychart-0.1.0.tgz");
  await writeFile(
    chart,
    rawTar([
      { name: "mychart/Chart.yaml", data: "apiVersion: v2\nname: mychart\nversion: 0.1.0\n" },
      { name: "mychart/values.yaml", data: "replicas: 2\n" },
      { name: "mychart/templates/deployment.yaml", data: "kind: Deployment\n" },
    ]),
  );
  const notes = join(dir, "notes.txt");
  await writeFile(notes, "release notes\n");
  return { manifests, chart, notes };
}
