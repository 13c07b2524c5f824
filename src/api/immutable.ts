/** One immutable-tag rule as GET/POST /api/v1/immutable answer it; the server's rules fit it. */
export interface ImmutableRuleDto {
  name: string;
  repositories: string;
  tags: string;
  kind: "glob" | "regex" | "semver";
  createdBy: string;
  createdAt: string;
}
