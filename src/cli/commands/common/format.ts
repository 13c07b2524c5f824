/** 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** "30d", "12h", "90m", "45s" → milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+)([smhdw])$/.exec(text.trim());
  if (!match) return undefined;
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[match[2] as "s"];
  return Number(match[1]) * unit;
}

/** "8M", "512k", "1G", "1048576" → bytes. */
export function parseSize(text: string): number | undefined {
  const match = /^(\d+)([kmg]i?b?)?$/i.exec(text.trim());
  if (!match) return undefined;
  const unit = (match[2] ?? "").charAt(0).toLowerCase();
  const factor = unit === "k" ? 1024 : unit === "m" ? 1024 ** 2 : unit === "g" ? 1024 ** 3 : 1;
  return Number(match[1]) * factor;
}

// Matching control characters is the point of these (built from strings, as the set is shared).
/**
 * Bidirectional and line-breaking format controls (ALM, LRM/RLM, LRE..RLO, LRI..PDI, LS/PS): invisible,
 * yet they reorder or break what follows, so a name can make a line read as something else.
 */
const FORMAT = "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069";
/** C0 controls (tab and newline included), DEL, C1 controls and FORMAT: none of them is text. */
const CONTROL_ALL = new RegExp(`[\u0000-\u001f\u007f-\u009f${FORMAT}]`, "g");
/** The same without tab and newline, which multi-line messages use as layout. */
const CONTROL_BUT_LAYOUT = new RegExp(`[\u0000-\u0008\u000b-\u001f\u007f-\u009f${FORMAT}]`, "g");
/** What JSON.stringify leaves as it is but a terminal acts on. */
const JSON_UNSAFE = new RegExp(`[\u007f-\u009f${FORMAT}]`, "g");

/**
 * Makes text safe for a terminal: every control character becomes a visible escape (`\x1b`, `\r`,
 * `\u009b`), so that a user name, tag, annotation or server message cannot move the cursor, recolour
 * the screen or forge lines of output. An escape sequence is defused by escaping its ESC (or C1 CSI).
 * `keepLayout` keeps tab and newline for text that is ours to lay out (messages, joined table lines).
 */
export function escapeControl(text: string, keepLayout = false): string {
  return text.replace(keepLayout ? CONTROL_BUT_LAYOUT : CONTROL_ALL, (char) => {
    const code = char.charCodeAt(0);
    if (char === "\n") return "\\n";
    if (char === "\r") return "\\r";
    if (char === "\t") return "\\t";
    return code < 0x80
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/**
 * JSON for a terminal: JSON.stringify already escapes C0 controls, but not DEL, C1 and the bidi controls, which some
 * terminals act on. `\u007f`-style escapes keep the document valid and the parsed value identical.
 */
export function terminalJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, null, indent).replace(
    JSON_UNSAFE,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Left-aligned columns, two spaces apart; cells are escaped whole (a newline in a cell is data). */
export function table(input: string[][]): string {
  if (input.length === 0) return "";
  const rows = input.map((row) => row.map((cell) => escapeControl(cell)));
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** sha256:abcdef… → sha256:abcdef123456 (12 hex digits, as docker shows image IDs). */
export function shortDigest(digest: string): string {
  const colon = digest.indexOf(":");
  return digest.slice(0, colon + 13);
}

/** Which manifest of a multi-platform index was taken, and from which choices. */
export function platformNote(
  result: { platform?: string; platforms?: string[]; digest: string; index?: { digest: string } },
  how: string,
): string {
  return (
    `${result.index?.digest ?? "the index"} is a multi-platform index (${(result.platforms ?? []).join(", ")}): ` +
    `picked ${result.platform} (${result.digest}); ${how}`
  );
}
