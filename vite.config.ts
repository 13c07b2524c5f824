import { defineConfig } from "vite";

/** The web UI (src/ui) built into dist/ui, which `wharf serve` serves at `/`. */
export default defineConfig({
  root: "src/ui",
  base: "/",
  publicDir: false,
  logLevel: "warn",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "../../dist/ui",
    emptyOutDir: true,
    target: "es2022",
    // Everything in files: the server's Content-Security-Policy allows no inline script or style.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
