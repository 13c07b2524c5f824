import { useState } from "preact/hooks";
import { api } from "../../api";
import { copyText } from "../../components/copy-button";
import { ErrorBox, Spinner } from "../../components/status";
import { useAsync } from "../../hooks";
import { LazyDetails } from "./lazy-details";
import { artifactApi, type ArtifactDetail } from "./types";

/** The manifest as stored, fetched only when the section is opened. */
export function ManifestSection({ artifact }: { artifact: ArtifactDetail }) {
  return (
    <section aria-labelledby="manifest">
      <h2 id="manifest">Manifest</h2>
      <LazyDetails summary="Show the manifest JSON">
        {() => <ManifestBody url={`${artifactApi(artifact.repository, artifact.digest)}/manifest`} />}
      </LazyDetails>
    </section>
  );
}

function ManifestBody({ url }: { url: string }) {
  const raw = useAsync(() => api.text(url), [url]);
  if (raw.error) return <ErrorBox error={raw.error} />;
  if (raw.data === undefined) return <Spinner label="Loading the manifest…" />;
  return (
    <div class="manifest">
      <div class="toolbar">
        <span class="muted">
          {new TextEncoder().encode(raw.data).length.toLocaleString()} bytes as stored
        </span>
        <CopyRaw text={raw.data} />
      </div>
      <pre tabIndex={0} aria-label="Manifest JSON">
        <code>{pretty(raw.data)}</code>
      </pre>
    </div>
  );
}

/**
 * Copies the manifest as served, not as shown. Not CopyButton: its accessible name repeats the text,
 * which for a whole manifest would be read out in full.
 */
function CopyRaw({ text }: { text: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  return (
    <button
      type="button"
      class="copy"
      onClick={async () => {
        setState(
          await copyText(text).then(
            () => "copied" as const,
            () => "failed" as const,
          ),
        );
        setTimeout(() => setState("idle"), 1500);
      }}
    >
      <span aria-live="polite">
        {state === "copied" ? "Copied" : state === "failed" ? "Copy failed" : "Copy manifest"}
      </span>
    </button>
  );
}

/** Indented two spaces; as served when it is not JSON (so nothing is hidden). */
function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
