// Go's strconv.ParseFloat(s, 64), which ImagePolicy's numerical policy applies to every candidate:
// decimal (`1`, `1.5`, `.5`, `1e3`), hexadecimal with a binary exponent (`0x1p-2`), `inf`/`infinity`/`nan`
// (any case), an optional sign, and `_` between digits (or between a base prefix and a digit), as in Go's
// atof tests: `1_23.50_0_0e+1_2` is 1.235e+14, `123_.5` is an error. A value out of range is an error (Go
// returns ErrRange), as is anything else.

const DIGITS = "[0-9](?:_?[0-9])*";
const DECIMAL = new RegExp(`^[+-]?(?:${DIGITS}(?:\\.(?:${DIGITS})?)?|\\.${DIGITS})(?:[eE][+-]?${DIGITS})?$`);
const HEX = /^([+-]?)0[xX]((?:_?[0-9a-fA-F])*)(?:\.((?:[0-9a-fA-F]_?)*))?[pP]([+-]?[0-9]+(?:_?[0-9])*)$/;

export function parseGoFloat(text: string): number | undefined {
  const special = /^([+-]?)(inf|infinity)$/i.exec(text);
  if (special) return special[1] === "-" ? -Infinity : Infinity;
  if (/^nan$/i.test(text)) return NaN;
  let value: number;
  if (DECIMAL.test(text)) {
    value = Number(text.replaceAll("_", ""));
  } else {
    const m = HEX.exec(text);
    if (!m) return undefined;
    const int = m[2]!.replaceAll("_", "");
    const frac = (m[3] ?? "").replaceAll("_", "");
    if (int === "" && frac === "") return undefined;
    if (m[3] !== undefined && /_$|^_/.test(m[3])) return undefined;
    let mantissa = 0;
    for (const d of int + frac) mantissa = mantissa * 16 + parseInt(d, 16);
    value = mantissa * 2 ** (Number(m[4]!.replaceAll("_", "")) - 4 * frac.length);
    if (m[1] === "-") value = -value;
  }
  return Number.isFinite(value) ? value : undefined;
}
