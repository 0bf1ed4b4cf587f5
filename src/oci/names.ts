/**
 * @module
 * Repository names and tags, with the grammar of the OCI Distribution Specification.
 */
import { RegistryError } from "../errors.ts";
import { truncate } from "./digest.ts";

const COMPONENT = "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*";
const NAME = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/** Longest repository name accepted (host plus name must fit in 255 characters). */
export const MAX_NAME_LENGTH = 255;

/** True when `name` is a valid repository name. */
export function isValidName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && NAME.test(name);
}

/** Throws `NAME_INVALID` unless `name` is a valid repository name. */
export function assertName(name: string): string {
  if (!isValidName(name)) {
    throw new RegistryError("NAME_INVALID", `Repository name "${truncate(name)}" is invalid`, {
      detail: { name: truncate(name) },
    });
  }
  return name;
}

/** True when `tag` is a valid tag. */
export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}

/** Throws `TAG_INVALID` unless `tag` is a valid tag. */
export function assertTag(tag: string): string {
  if (!isValidTag(tag)) {
    throw new RegistryError("TAG_INVALID", `Tag "${truncate(tag)}" is invalid`, {
      detail: { tag: truncate(tag) },
    });
  }
  return tag;
}
