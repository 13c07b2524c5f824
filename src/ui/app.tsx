import { useEffect, useRef, useState } from "preact/hooks";
import logo from "./favicon.svg";
import { Link, navigate, routeOf, useLocation, type Route } from "./router";
import { signOut, useSession } from "./session";
import { signInHref } from "./components/read-error";
import { OverviewPage } from "./pages/overview";
import { RepositoryPage } from "./pages/repository";
import { ArtifactPage } from "./pages/artifact/index";
import { SearchPage } from "./pages/search";
import { SignInPage } from "./pages/sign-in";
import { AdminPage } from "./pages/admin/index";
import { NotFoundPage } from "./pages/not-found";

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "overview":
      return <OverviewPage />;
    case "repository":
      return <RepositoryPage repository={route.repository} />;
    case "artifact":
      return <ArtifactPage repository={route.repository} reference={route.reference} />;
    case "search":
      return <SearchPage />;
    case "sign-in":
      return <SignInPage />;
    case "admin":
      return <AdminPage section={route.section} />;
    case "not-found":
      return <NotFoundPage />;
  }
}

/** The header's search box: typing goes to the search page, which searches as you type. */
function SearchBox() {
  const { path, query } = useLocation();
  const [text, setText] = useState(path === "/search" ? (query.get("q") ?? "") : "");
  useEffect(() => {
    // The live URL, not this render's: keys typed since the render already moved it on (a stale
    // `q` here would drop them).
    if (path === "/search") setText(new URLSearchParams(location.search).get("q") ?? "");
  }, [path]);
  useEffect(() => {
    // "/" focuses the search box, as on most code hosts (not while typing elsewhere).
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement | null;
      if (event.key !== "/" || target?.closest("input, textarea, select, [contenteditable]")) return;
      event.preventDefault();
      document.getElementById("search")?.focus();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);
  return (
    <form
      role="search"
      class="search-box"
      onSubmit={(event) => {
        event.preventDefault();
        navigate(`/search?q=${encodeURIComponent(text)}`);
      }}
    >
      <label for="search" class="visually-hidden">
        Search artifacts
      </label>
      <input
        id="search"
        type="search"
        placeholder="Search artifacts  ( / )"
        autocomplete="off"
        value={text}
        onInput={(event) => {
          const value = event.currentTarget.value;
          setText(value);
          navigate(`/search?q=${encodeURIComponent(value)}`, { replace: path === "/search" });
        }}
      />
    </form>
  );
}

function Account() {
  const session = useSession();
  const { path } = useLocation();
  if (session.loading || !session.authEnabled) return null;
  if (!session.user) {
    return (
      <Link class="button" href={signInHref(path, location.search)}>
        Sign in
      </Link>
    );
  }
  return (
    <div class="account">
      <span class="account-name" title="Signed in">
        {session.user.name}
      </span>
      <button
        type="button"
        onClick={async () => {
          try {
            await signOut();
            navigate("/");
          } catch (err) {
            // Still signed in on the server: say so rather than pretend (a shared machine).
            window.alert(`Signing out failed, you are still signed in: ${(err as Error).message}`);
          }
        }}
      >
        Sign out
      </button>
    </div>
  );
}

export function App() {
  const { path } = useLocation();
  const session = useSession();
  const route = routeOf(path);
  const firstPath = useRef(path);
  useEffect(() => {
    // A page navigated to takes the focus (screen readers start at its content), unless the user is
    // typing (the header's search box goes to the search page at the first key). The page loaded first
    // leaves it where the browser puts it, so Tab starts at the skip link.
    if (path === firstPath.current) return;
    firstPath.current = "";
    if (document.activeElement?.matches("input, textarea, select")) return;
    document.getElementById("main")?.focus({ preventScroll: true });
  }, [path]);
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="top">
        <Link href="/" class="brand" aria-label="Wharf: all repositories">
          <img src={logo} alt="" width={24} height={24} />
          <span>Wharf</span>
        </Link>
        <SearchBox />
        <nav class="top-nav" aria-label="Main">
          <Link href="/" aria-current={route.page === "overview" ? "page" : undefined}>
            Repositories
          </Link>
          {session.user?.admin && (
            <Link href="/admin" aria-current={route.page === "admin" ? "page" : undefined}>
              Admin
            </Link>
          )}
        </nav>
        <Account />
      </header>
      <main id="main" tabIndex={-1}>
        {/* Signing in or out remounts the page: every listing is asked again as the new user. */}
        {/* Keyed by user and path: another artifact or repository is a fresh page, never the last one's data. */}
        <Page key={`${session.user?.name ?? ""}|${path}`} route={route} />
      </main>
    </>
  );
}
