import { useState } from "preact/hooks";

/** Copies `text`: the Clipboard API where the page may use it, else a selection (plain-HTTP hosts). */
export async function copyText(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "offscreen";
  document.body.append(area);
  area.select();
  const copied = document.execCommand("copy");
  area.remove();
  if (!copied) throw new Error("the browser refused to copy");
}

/** A command or reference with a button that copies it; says "Copied" for a moment. */
/** `sensitive`: a secret, never put in the button's accessible name (a screen reader would speak it). */
export function CopyButton({
  text,
  label = "Copy",
  sensitive = false,
}: {
  text: string;
  label?: string;
  sensitive?: boolean;
}) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  const onClick = async () => {
    try {
      await copyText(text);
      setState("copied");
    } catch {
      setState("failed");
    }
    setTimeout(() => setState("idle"), 1500);
  };
  return (
    <button type="button" class="copy" onClick={onClick} aria-label={sensitive ? label : `${label}: ${text}`}>
      <span aria-live="polite">
        {state === "copied" ? "Copied" : state === "failed" ? "Copy failed" : label}
      </span>
    </button>
  );
}

/** A command shown in full, with its copy button. */
export function CopyCommand({ command, label }: { command: string; label?: string }) {
  return (
    <div class="command">
      <code>{command}</code>
      <CopyButton text={command} label={label ?? "Copy"} />
    </div>
  );
}
