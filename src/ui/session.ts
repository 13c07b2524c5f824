import { useEffect, useState } from "preact/hooks";
import { api, setCsrfToken } from "./api";

/**
 * Who is signed in. The server keeps the session (an HttpOnly cookie no script can read); the page
 * holds only the user's name, role and the session's CSRF token, in memory.
 */
export interface SessionUser {
  name: string;
  admin: boolean;
}

export interface SessionState {
  loading: boolean;
  /** False on a registry without accounts: everyone sees everything, nobody signs in. */
  authEnabled: boolean;
  user: SessionUser | null;
}

interface SessionAnswer {
  authEnabled: boolean;
  user: SessionUser | null;
  csrf: string | null;
}

let state: SessionState = { loading: true, authEnabled: false, user: null };
const listeners = new Set<(s: SessionState) => void>();

function set(next: SessionState): void {
  state = next;
  for (const listener of listeners) listener(state);
}

function apply(answer: SessionAnswer): void {
  setCsrfToken(answer.csrf);
  set({ loading: false, authEnabled: answer.authEnabled, user: answer.user });
}

/** Asks the server who this browser is (on load, and after a refusal that may mean the session ended). */
export async function refreshSession(): Promise<void> {
  try {
    apply(await api.get<SessionAnswer>("/api/v1/session"));
  } catch {
    apply({ authEnabled: false, user: null, csrf: null });
  }
}

export async function signIn(username: string, password: string): Promise<void> {
  const answer = await api.post<{ user: SessionUser; csrf: string }>("/api/v1/session", {
    username,
    password,
  });
  apply({ authEnabled: true, user: answer.user, csrf: answer.csrf });
}

export async function signOut(): Promise<void> {
  try {
    await api.del("/api/v1/session");
  } finally {
    apply({ authEnabled: state.authEnabled, user: null, csrf: null });
  }
}

/** The session, re-rendering the caller when it changes. */
export function useSession(): SessionState {
  const [current, setCurrent] = useState(state);
  useEffect(() => {
    listeners.add(setCurrent);
    setCurrent(state);
    return () => void listeners.delete(setCurrent);
  }, []);
  return current;
}

void refreshSession();
