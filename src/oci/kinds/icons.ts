/**
 * Wharf's icon set for artifact kinds: drawn for Wharf, not copied from any project's logo. Every icon
 * shares one frame (24×24 viewBox, 1.5 round strokes) and one palette, so a listing looks like one set.
 */

export const ICON_VIEWBOX = "0 0 24 24";
/** The only colours an icon may use: an ink for strokes, a wash for fills and an accent for one detail. */
export const ICON_PALETTE = { ink: "#1d4f91", wash: "#dbe8f7", accent: "#e0812b" } as const;

const W = ICON_PALETTE.wash;
const A = ICON_PALETTE.accent;

const shield = `<path d="M12 3l8 3v6c0 4.5-3.4 8-8 9-4.6-1-8-4.5-8-9V6z" fill="${W}"/>`;
const page = `<path d="M6 3h9l4 4v14H6z" fill="${W}"/><path d="M15 3v4h4"/>`;

/** Icon bodies by name; the frame is added by iconSvg. */
const BODIES: Record<string, string> = {
  artifact: page,
  image: `<path d="M12 3l8 4.5v9L12 21l-8-4.5v-9z" fill="${W}"/><path d="M4 7.5l8 4.5 8-4.5M12 12v9"/>`,
  container: `<rect x="3" y="7" width="18" height="11" rx="1.5" fill="${W}"/><path d="M7 10v5M10.5 10v5M14 10v5M17.5 10v5"/>`,
  index: `<path d="M12 3l9 4.5-9 4.5-9-4.5z" fill="${W}"/><path d="M3 12l9 4.5 9-4.5M3 16.5L12 21l9-4.5"/>`,
  chart: `<path d="M3 6l6-3 6 3 6-3v15l-6 3-6-3-6 3z" fill="${W}"/><path d="M9 3v15M15 6v15"/>`,
  plugin: `<path d="M4 8h4a2 2 0 1 1 4 0h4v4a2 2 0 1 1 0 4v4H4z" fill="${W}"/>`,
  bundle: `<path d="M3 8l9-5 9 5v8l-9 5-9-5z" fill="${W}"/><path d="M3 8l9 5 9-5M12 13v8"/><path d="M7.5 5.5l9 5" stroke="${A}"/>`,
  wasm: `<rect x="5" y="5" width="14" height="14" rx="2" fill="${W}"/><path d="M9 2v3M15 2v3M9 19v3M15 19v3M2 9h3M2 15h3M19 9h3M19 15h3"/><path d="M8.5 10l1.5 5 2-3.5 2 3.5 1.5-5" stroke="${A}"/>`,
  sync: `<path d="M20 12a8 8 0 0 1-13.7 5.7M4 12a8 8 0 0 1 13.7-5.7"/><path d="M18 3v4h-4M6 21v-4h4" stroke="${A}"/>`,
  policy: `${shield}<path d="M8.5 12l2.5 2.5 4.5-5" stroke="${A}"/>`,
  admission: `${shield}<path d="M8.5 10h7M8.5 14h7" stroke="${A}"/>`,
  watch: `<path d="M2 12s3.5-6 10-6 10 6 10 6-3.5 6-10 6S2 12 2 12z" fill="${W}"/><circle cx="12" cy="12" r="3" stroke="${A}"/>`,
  module: `<rect x="3" y="3" width="8" height="8" rx="1" fill="${W}"/><rect x="13" y="3" width="8" height="8" rx="1"/><rect x="3" y="13" width="8" height="8" rx="1"/><rect x="13" y="13" width="8" height="8" rx="1" fill="${W}"/>`,
  provider: `<path d="M9 2v5M15 2v5"/><path d="M6 7h12v3a6 6 0 0 1-12 0z" fill="${W}"/><path d="M12 16v6" stroke="${A}"/>`,
  locked: `<rect x="3" y="7" width="18" height="14" rx="1.5" fill="${W}"/><path d="M3 11h18"/><path d="M8 3h8l2 4H6z"/><path d="M10 15h4" stroke="${A}"/>`,
  model: `<circle cx="5" cy="6" r="2"/><circle cx="5" cy="18" r="2"/><circle cx="12" cy="12" r="2.5" fill="${W}"/><circle cx="19" cy="6" r="2"/><circle cx="19" cy="18" r="2"/><path d="M6.7 7.2l3.3 3.3M6.7 16.8l3.3-3.3M17.3 7.2L14 10.5M17.3 16.8L14 13.5" stroke="${A}"/>`,
  toolbox: `<rect x="3" y="8" width="18" height="12" rx="1.5" fill="${W}"/><path d="M9 8V5h6v3M3 13h18"/><path d="M11 13v2h2v-2" stroke="${A}"/>`,
  chat: `<path d="M4 5h16v11H9l-5 4z" fill="${W}"/><path d="M8 10.5h.01M12 10.5h.01M16 10.5h.01" stroke="${A}" stroke-width="2"/>`,
  sbom: `${page}<path d="M9 11h7M9 14h7M9 17h5"/>`,
  signature: `<path d="M15 3l6 6-9 9H6v-6z" fill="${W}"/><path d="M13 5l6 6"/><path d="M3 21h18" stroke="${A}"/>`,
  seal: `<circle cx="12" cy="9" r="6" fill="${W}"/><path d="M9 14l-2 7 5-3 5 3-2-7"/><path d="M9.5 9l2 2 3-3.5" stroke="${A}"/>`,
  attestation: `<rect x="5" y="4" width="14" height="17" rx="1.5" fill="${W}"/><path d="M9 4V3h6v1"/><path d="M8.5 13l2.5 2.5 4.5-5" stroke="${A}"/>`,
  cylinder: `<ellipse cx="12" cy="6" rx="8" ry="3" fill="${W}"/><path d="M4 6v12c0 1.7 3.6 3 8 3s8-1.3 8-3V6M4 12c0 1.7 3.6 3 8 3s8-1.3 8-3"/>`,
  pipeline: `<circle cx="5" cy="12" r="2.5" fill="${W}"/><circle cx="12" cy="12" r="2.5"/><circle cx="19" cy="12" r="2.5" fill="${W}"/><path d="M7.5 12h2M14.5 12h2" stroke="${A}"/>`,
  crossing: `<path d="M4 4l16 16M20 4L4 20"/><circle cx="12" cy="12" r="3" fill="${W}" stroke="${A}"/>`,
  crate: `<rect x="3" y="9" width="18" height="12" rx="1" fill="${W}"/><path d="M3 13h18"/><path d="M12 2v7M9 6l3 3 3-3" stroke="${A}"/>`,
  braces: `<path d="M9 4H8a2 2 0 0 0-2 2v4l-2 2 2 2v4a2 2 0 0 0 2 2h1M15 4h1a2 2 0 0 1 2 2v4l2 2-2 2v4a2 2 0 0 1-2 2h-1"/><circle cx="12" cy="12" r="1.5" fill="${W}" stroke="${A}"/>`,
  devbox: `<rect x="3" y="4" width="18" height="16" rx="2" fill="${W}"/><path d="M9 9l-3 3 3 3M15 9l3 3-3 3" stroke="${A}"/>`,
  compose: `<rect x="3" y="3" width="18" height="18" rx="2" fill="${W}"/><path d="M3 9h18M3 15h18M9 9v12"/>`,
  catalog: `<rect x="3" y="3" width="18" height="18" rx="2" fill="${W}"/><path d="M7 8h.01M7 12h.01M7 16h.01" stroke="${A}" stroke-width="2"/><path d="M10 8h7M10 12h7M10 16h7"/>`,
};

export const ICON_NAMES: readonly string[] = Object.freeze(Object.keys(BODIES));

export function isIconName(name: string): boolean {
  return Object.hasOwn(BODIES, name);
}

/** The complete SVG document for an icon; unknown names get the generic artifact icon. */
export function iconSvg(name: string): string {
  const body = Object.hasOwn(BODIES, name) ? BODIES[name] : BODIES.artifact;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="${ICON_VIEWBOX}" width="24" height="24" fill="none" ` +
    `stroke="${ICON_PALETTE.ink}" stroke-width="1.5" stroke-linecap="round" stroke-linejoin="round">${body}</svg>`
  );
}
