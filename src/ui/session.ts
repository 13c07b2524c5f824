import { useEffect, useState } from "preact/hooks";
import { api, ApiError, onSessionRefused, setCsrfToken } from "./api";

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
  for (let attempt = 0; ; attempt++) {
    try {
      apply(await api.get<SessionAnswer>("/api/v1/session"));
      return;
    } catch (err) {
      // A server without the session API (404) has no web sign-in: show what anyone may see. A failure
      // (5xx, network) is not "no authentication": try again before giving up on the sign-in link.
      if ((err instanceof ApiError && err.status === 404) || attempt >= 4) {
        apply({ authEnabled: err instanceof ApiError && err.status !== 404, user: null, csrf: null });
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
    }
  }
}

export async function signIn(username: string, password: string): Promise<void> {
  const answer = await api.post<{ user: SessionUser; csrf: string }>("/api/v1/session", {
    username,
    password,
  });
  apply({ authEnabled: true, user: answer.user, csrf: answer.csrf });
}

/** Signs out; throws (still signed in, as the server says) when the server did not end the session. */
export async function signOut(): Promise<void> {
  try {
    await api.del("/api/v1/session");
  } catch (err) {
    // 401: the session had ended already. Anything else: the cookie may still be good, so say so.
    if (!(err instanceof ApiError && err.status === 401)) {
      await refreshSession();
      throw err;
    }
  }
  apply({ authEnabled: state.authEnabled, user: null, csrf: null });
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

// A refusal that may mean the session ended: ask the server (at most once every few seconds).
let lastDoubt = 0;
onSessionRefused(() => {
  if (!state.user || Date.now() - lastDoubt < 5000) return;
  lastDoubt = Date.now();
  void refreshSession();
});

void refreshSession();
