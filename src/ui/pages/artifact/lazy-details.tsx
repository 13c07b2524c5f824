import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";

/** A <details> whose body is rendered (and so loads what it shows) only once it is opened. */
export function LazyDetails({ summary, children }: { summary: string; children: () => ComponentChildren }) {
  const [open, setOpen] = useState(false);
  return (
    <details class="lazy" onToggle={(event) => setOpen(event.currentTarget.open)}>
      <summary>{summary}</summary>
      {open && children()}
    </details>
  );
}
