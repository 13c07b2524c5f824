import type { ComponentChildren } from "preact";
import { ApiError } from "../api";

export function Spinner({ label = "Loading…" }: { label?: string }) {
  return (
    <p class="status" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" />
      {label}
    </p>
  );
}

/** An error as the user can act on it: the server's message, and its OCI code for reports. */
export function ErrorBox({ error, children }: { error: Error; children?: ComponentChildren }) {
  const code = error instanceof ApiError ? error.code : undefined;
  return (
    <div class="error-box" role="alert">
      <strong>{error.message}</strong>
      {code && <code class="error-code">{code}</code>}
      {children}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}
