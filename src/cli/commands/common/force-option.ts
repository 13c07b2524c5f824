/** `--force` of push, tag and cp: what it overrides (see src/client/tag-guard.ts). */
export const FORCE_HELP =
  "move a version tag (v1.2.0, 1.2.0-rc.1) that already points at another digest; without it such a move is refused (exit 8)";
