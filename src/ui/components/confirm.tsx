import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { ErrorBox } from "./status";

interface ConfirmProps {
  /** What the button does, as a verb: "Revoke", "Delete rule". */
  action: string;
  /** What will change, said before it changes (shown in the dialog). */
  children: ComponentChildren;
  onConfirm(): Promise<void>;
  danger?: boolean;
  disabled?: boolean;
}

/**
 * A button that first states what it will change, in a modal dialog (focus stays inside, Escape
 * cancels), and only then calls `onConfirm`; a refusal is shown in the dialog.
 */
export function Confirm({ action, children, onConfirm, danger, disabled }: ConfirmProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | undefined>();
  const [open, setOpen] = useState(false);
  useEffect(() => {
    if (open) dialog.current?.showModal();
    else dialog.current?.close();
  }, [open]);
  const confirm = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await onConfirm();
      setOpen(false);
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" class={danger ? "danger" : ""} disabled={disabled} onClick={() => setOpen(true)}>
        {action}
      </button>
      <dialog ref={dialog} class="confirm" onClose={() => setOpen(false)}>
        <div class="confirm-body">{children}</div>
        {error && <ErrorBox error={error} />}
        <div class="confirm-actions">
          <button type="button" onClick={() => setOpen(false)} disabled={busy}>
            Cancel
          </button>
          <button type="button" class={danger ? "danger" : "primary"} onClick={confirm} disabled={busy}>
            {busy ? "Working…" : action}
          </button>
        </div>
      </dialog>
    </>
  );
}
