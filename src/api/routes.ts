/**
 * @module
 * The registry API's route table: each resource module exports its own routes, and this
 * module only puts them in order (first match wins: upload paths before blob paths, which
 * they share a prefix with).
 */
import type { Route } from "../http/route.ts";
import { routes as base } from "./base.ts";
import { routes as blobs } from "./blobs.ts";
import { routes as catalog } from "./catalog.ts";
import { routes as manifests } from "./manifests.ts";
import { routes as referrers } from "./referrers.ts";
import { routes as tags } from "./tags.ts";
import { routes as uploads } from "./uploads.ts";

/** The OCI Distribution API plus `/healthz`. */
export const API_ROUTES: readonly Route[] = [
  ...base,
  ...catalog,
  ...tags,
  ...manifests,
  ...uploads,
  ...blobs,
  ...referrers,
];
