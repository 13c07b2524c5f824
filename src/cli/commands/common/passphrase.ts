import { prompt } from "./prompt.js";

/**
 * The prompt for a key's passphrase, or undefined when nobody can answer (stdin not a terminal), so
 * the key loader tells the user to set WHARF_KEY_PASSWORD instead of hanging.
 */
export function passphrasePrompt(): ((question: string) => Promise<string>) | undefined {
  if (!process.stdin.isTTY) return undefined;
  return (question) => prompt(question, true);
}
