/** Repository name and tag grammar from the OCI Distribution Spec. */
const NAME_COMPONENT = "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*";
const REPOSITORY_NAME = new RegExp(`^${NAME_COMPONENT}(?:/${NAME_COMPONENT})*$`);
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

export const MAX_REPOSITORY_NAME_LENGTH = 255;

export function isValidRepositoryName(name: string): boolean {
  return name.length <= MAX_REPOSITORY_NAME_LENGTH && REPOSITORY_NAME.test(name);
}

export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}
