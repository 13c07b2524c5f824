import type { ComponentChildren, JSX } from "preact";
import { useId } from "preact/hooks";
import { api } from "../../api";
import { useAsync, type Async } from "../../hooks";
import { ago, exactTime } from "../../format";
import { ErrorBox, Spinner } from "../../components/status";

/** Shared pieces of the administration sections: listings of the admin API, labelled fields, times. */

/** A path segment of the admin API (names hold no slash, but may hold anything else). */
export const seg = (value: string) => encodeURIComponent(value);

/** A whole (unpaged) listing of the admin API, whose answer holds its items under `field`. */
export function useAdminList<T>(path: string, field: string): Async<T[]> {
  return useAsync(async () => {
    const body = await api.get<Record<string, unknown>>(path);
    const items = body[field];
    return Array.isArray(items) ? (items as T[]) : [];
  }, [path, field]);
}

/** The listing's table once loaded, its error or a spinner meanwhile. */
export function Loaded<T>({ list, children }: { list: Async<T>; children(data: T): ComponentChildren }) {
  if (list.error) return <ErrorBox error={list.error} />;
  if (list.data === undefined) return <Spinner />;
  return <>{children(list.data)}</>;
}

type InputProps = Omit<JSX.InputHTMLAttributes<HTMLInputElement>, "onInput" | "value"> & {
  label: string;
  value: string;
  onValue(value: string): void;
  /** Said under the field: what it takes. */
  hint?: string;
};

/** A labelled input, its hint tied to it (aria-describedby) so the label stays just the name. */
export function Field({ label, value, onValue, hint, ...rest }: InputProps) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        {...rest}
        id={id}
        aria-describedby={hint ? `${id}-hint` : undefined}
        value={value}
        onInput={(e) => onValue(e.currentTarget.value)}
      />
      {hint && (
        <small id={`${id}-hint`} class="hint">
          {hint}
        </small>
      )}
    </div>
  );
}

/** A set of checkboxes over `options` (actions): the chosen ones in `value`. */
export function Choices({
  legend,
  options,
  value,
  onValue,
}: {
  legend: string;
  options: readonly string[];
  value: string[];
  onValue(value: string[]): void;
}) {
  return (
    <fieldset class="choices">
      <legend>{legend}</legend>
      {options.map((option) => (
        <label key={option} class="choice">
          <input
            type="checkbox"
            checked={value.includes(option)}
            onChange={(e) =>
              onValue(
                e.currentTarget.checked
                  ? options.filter((o) => o === option || value.includes(o))
                  : value.filter((v) => v !== option),
              )
            }
          />
          {option}
        </label>
      ))}
    </fieldset>
  );
}

/** A time as "3 minutes ago", with the exact time on hover and for assistive technology. */
export function When({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span class="muted-inline">never</span>;
  return (
    <time dateTime={iso} title={exactTime(iso)}>
      {ago(iso)}
    </time>
  );
}

/** A section's form to add something: a heading, the fields, and the Confirm that adds. */
export function AddForm({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <form class="form admin-form" aria-label={title} onSubmit={(e) => e.preventDefault()}>
      <h2>{title}</h2>
      {children}
    </form>
  );
}

/** Words from a comma- or space-separated list: "a, b c" → ["a", "b", "c"]. */
export function words(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((w) => w.trim())
    .filter(Boolean);
}

/** `30d`, `12h`, `2w` (as the CLI's --expires takes them) → milliseconds; undefined if not one. */
export function durationMs(text: string): number | undefined {
  const match = /^(\d{1,6})\s*([mhdw])$/.exec(text.trim());
  if (!match) return undefined;
  const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[match[2] as "m"];
  return Number(match[1]) * unit;
}
