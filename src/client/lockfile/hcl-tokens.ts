import { UsageError } from "../errors.js";

/** A quoted string of an HCL file, and what it is the value of. */
export interface HclString {
  /** Source offsets of the text between the quotes. */
  start: number;
  end: number;
  /** The string as HCL evaluates it: escapes decoded, `$${` as a literal `${`, `%%{` as `%{`. */
  value: string;
  /** Has a template interpolation (`${var.x}`) or directive (`%{if}`): not knowable without evaluating. */
  dynamic: boolean;
  /** The expressions of its `${…}` interpolations as written (`var.x`, ` context.env_id `). */
  interpolations: string[];
  /** The string as evaluated, except that each `${…}` and `%{…}` stays as written: its shape. */
  template: string;
  /** The attribute or object key it is assigned to, if any (`source`, `image`). */
  key?: string;
  /** Enclosing blocks and object keys: `module.app`, `resource.helm_release.web.set`. */
  blocks: string[];
}

const ESCAPES: Record<string, string> = { n: "\n", r: "\r", t: "\t", '"': '"', "\\": "\\" };

/**
 * A tokenizer for exactly what reference scanning needs of HCL (and Terraform/OpenTofu `.tf`): comments
 * (`#`, `//`, `/* *\/`), quoted strings with their escapes and nested `${…}` templates, heredocs (skipped:
 * their text is not one value), and the attribute names and block labels strings sit under. No npm HCL
 * parser is maintained for TypeScript, and evaluating HCL is not needed to find literal references.
 */
export function hclStrings(text: string, fileName: string): HclString[] {
  const out: HclString[] = [];
  const stack: string[] = [];
  let header: string[] = []; // identifiers and labels since the last statement boundary
  let pendingKey: string | undefined;
  let i = 0;
  const fail = (message: string, at: number): never => {
    const line = text.slice(0, at).split("\n").length;
    throw new UsageError(`${fileName}:${line}: not valid HCL: ${message}`);
  };

  while (i < text.length) {
    const c = text[i] as string;
    if (c === "#" || (c === "/" && text[i + 1] === "/")) {
      const nl = text.indexOf("\n", i);
      i = nl < 0 ? text.length : nl;
    } else if (c === "/" && text[i + 1] === "*") {
      const close = text.indexOf("*/", i + 2);
      if (close < 0) fail("unclosed /* comment", i);
      i = close + 2;
    } else if (c === '"') {
      const s = readString(text, i + 1, fail);
      // A string after a word without `=` is a block label (`module "app" {`), not a value.
      if (pendingKey !== undefined || header.length === 0) {
        out.push({
          ...s.token,
          ...(pendingKey !== undefined ? { key: pendingKey } : {}),
          blocks: [...stack],
        });
      }
      if (pendingKey === undefined) header.push(s.token.value);
      else pendingKey = undefined;
      i = s.next;
    } else if (c === "<" && text[i + 1] === "<" && /[-A-Za-z_]/.test(text[i + 2] ?? "")) {
      const m = /^<<-?([A-Za-z_][A-Za-z0-9_-]*)[ \t]*\r?\n/.exec(text.slice(i, i + 200));
      if (!m) fail("bad heredoc", i);
      const marker = (m as RegExpExecArray)[1] as string;
      const end = new RegExp(`^[ \\t]*${marker}[ \\t]*$`, "m");
      const rest = text.slice(i + (m as RegExpExecArray)[0].length);
      const found = end.exec(rest);
      if (!found) fail(`heredoc ${marker} is not closed`, i);
      i +=
        (m as RegExpExecArray)[0].length +
        (found as RegExpExecArray).index +
        (found as RegExpExecArray)[0].length;
      pendingKey = undefined;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(text.slice(i, i + 256)) as RegExpExecArray;
      header.push(m[0]);
      i += m[0].length;
    } else if (
      (c === "=" && !/[=>]/.test(text[i + 1] ?? "") && !/[=!<>]/.test(text[i - 1] ?? "")) ||
      c === ":"
    ) {
      // `key = value` or `key: value` in an object: the last word is the key.
      if (c === ":" && text[i + 1] === ":") {
        i += 2;
        continue;
      }
      pendingKey = header.at(-1);
      header = [];
      i++;
    } else if (c === "{") {
      stack.push(pendingKey ?? header.join("."));
      header = [];
      pendingKey = undefined;
      i++;
    } else if (c === "}") {
      stack.pop();
      header = [];
      pendingKey = undefined;
      i++;
    } else if (c === "\n" || c === ",") {
      header = [];
      pendingKey = undefined;
      i++;
    } else i++;
  }
  if (stack.length > 0) fail("a { is not closed", text.length);
  return out;
}

/** Reads a quoted string whose text starts at `start`; `${…}` may nest strings and braces. */
function readString(
  text: string,
  start: number,
  fail: (message: string, at: number) => never,
): { token: Omit<HclString, "blocks" | "key">; next: number } {
  let value = "";
  let template = "";
  const interpolations: string[] = [];
  let dynamic = false;
  let i = start;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '"') return { token: { start, end: i, value, dynamic, interpolations, template }, next: i + 1 };
    if (c === "\n") break;
    if (c === "\\") {
      const e = text[i + 1] ?? "";
      let decoded: string;
      if (e === "u" || e === "U") {
        const len = e === "u" ? 4 : 8;
        decoded = String.fromCodePoint(parseInt(text.slice(i + 2, i + 2 + len), 16) || 0xfffd);
        i += 2 + len;
      } else {
        decoded = ESCAPES[e] ?? e;
        i += 2;
      }
      value += decoded;
      template += decoded;
    } else if ((c === "$" || c === "%") && text[i + 1] === c && text[i + 2] === "{") {
      value += `${c}{`; // `$${` and `%%{` are the escapes of a literal `${` and `%{`
      template += `${c}{`;
      i += 3;
    } else if ((c === "$" || c === "%") && text[i + 1] === "{") {
      dynamic = true;
      const next = skipTemplate(text, i + 2, fail);
      if (c === "$") interpolations.push(text.slice(i + 2, next - 1));
      template += text.slice(i, next);
      i = next;
    } else {
      value += c;
      template += c;
      i++;
    }
  }
  return fail("unclosed string", start);
}

/** Skips a `${…}` template's expression, nested strings and braces included; returns the offset after it. */
function skipTemplate(text: string, start: number, fail: (message: string, at: number) => never): number {
  let depth = 1;
  let i = start;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      i = readString(text, i + 1, fail).next;
      continue;
    }
    if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return i + 1;
    i++;
  }
  return fail("unclosed ${ template", start);
}
