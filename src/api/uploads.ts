/**
 * @module
 * Blob uploads: `POST /v2/<name>/blobs/uploads/` (session, monolithic `?digest=`, or
 * `?mount=`), and `GET`/`PATCH`/`PUT`/`DELETE /v2/<name>/blobs/uploads/<id>`.
 *
 * The session's `Location` carries a signed state token (`?_state=`, see
 * `src/upload_token.ts`); every answer about a session, a 416 included, says where the
 * upload stands (`Range`, `Upload-Offset`, `Location`), so a client can resume.
 */
import { RegistryError } from "../errors.ts";
import { HttpError } from "../http/http_error.ts";
import { empty, location, requestBody } from "../http/responses.ts";
import { type Ctx, NAME, type Route } from "../http/route.ts";
import { parseDigest } from "../oci/digest.ts";
import { isValidName } from "../oci/names.ts";
import { parseContentRange, parseLength } from "../oci/range.ts";
import type { Chunk, UploadStatus } from "../registry/repository.ts";

/** Headers that describe a session to the client: where to go next and how far it got. */
function sessionHeaders(ctx: Ctx, session: UploadStatus): Record<string, string> {
  const token = ctx.deps.tokens.sign({
    repo: session.repository,
    id: session.id,
    offset: session.offset,
    started: session.started,
  });
  return {
    "Location": location(
      ctx,
      `/v2/${session.repository}/blobs/uploads/${session.id}?_state=${token}`,
    ),
    "Docker-Upload-UUID": session.id,
    // distribution's form (`0-0` for an empty session); Upload-Offset is the exact count.
    "Range": `0-${Math.max(0, session.offset - 1)}`,
    "Upload-Offset": String(session.offset),
  };
}

function created(ctx: Ctx, digest: string): Response {
  return empty(201, {
    "Location": location(ctx, `/v2/${ctx.name}/blobs/${digest}`),
    "Docker-Content-Digest": digest,
  });
}

/** `POST`: mount, monolithic upload, or a new session. */
export async function start(ctx: Ctx): Promise<Response> {
  const { uploads, blobs } = ctx.repository;
  const query = ctx.url.searchParams;
  const mount = query.get("mount");
  if (mount !== null) {
    const digest = parseDigest(mount);
    const from = query.get("from");
    // An invalid `from` cannot hold the blob: fall back to a normal upload, as the spec says.
    if (from === null || isValidName(from)) {
      const mounted = await blobs.mount(digest, from, (repo) => ctx.access.can(repo, "pull"));
      if (mounted) return created(ctx, digest.value);
    }
  } else if (query.has("digest")) {
    const digest = parseDigest(query.get("digest"));
    const result = await uploads.monolithic(digest, requestBody(ctx));
    return created(ctx, result.digest.value);
  }
  await ctx.request.body?.cancel().catch(() => {});
  const session = await uploads.start();
  const headers = sessionHeaders(ctx, session);
  if (uploads.minChunkLength > 0) headers["OCI-Chunk-Min-Length"] = String(uploads.minChunkLength);
  return empty(202, headers);
}

/** `GET`: where the upload stands (204 with `Range`), so a client can resume. */
export async function status(ctx: Ctx): Promise<Response> {
  readToken(ctx);
  const session = await ctx.repository.uploads.status(ctx.params.uuid);
  return empty(204, sessionHeaders(ctx, session));
}

/** `PATCH`: appends a chunk (with `Content-Range`) or a streamed body (without). */
export function patch(ctx: Ctx): Promise<Response> {
  return reportingSession(ctx, async () => {
    const chunk = readChunk(ctx);
    const session = await ctx.repository.uploads.append(ctx.params.uuid, chunk);
    return empty(202, sessionHeaders(ctx, session));
  });
}

/** `PUT ?digest=`: closes the upload, optionally with a last chunk, and publishes. */
export function finish(ctx: Ctx): Promise<Response> {
  return reportingSession(ctx, async () => {
    const digest = parseDigest(ctx.url.searchParams.get("digest"));
    const chunk = readChunk(ctx);
    const result = await ctx.repository.uploads.complete(ctx.params.uuid, digest, chunk);
    return created(ctx, result.digest.value);
  });
}

/** `DELETE`: cancels the upload. */
export async function cancel(ctx: Ctx): Promise<Response> {
  readToken(ctx);
  await ctx.repository.uploads.cancel(ctx.params.uuid);
  return empty(204);
}

/** The offset the upload token says the client is at; null without a token. */
function readToken(ctx: Ctx): number | null {
  const token = ctx.url.searchParams.get("_state");
  if (token === null) return null;
  const state = ctx.deps.tokens.verify(token);
  if (!state || state.id !== ctx.params.uuid || state.repo !== ctx.name) {
    throw new RegistryError("BLOB_UPLOAD_INVALID", "The upload URL's state token is invalid", {
      detail: { upload: ctx.params.uuid.slice(0, 100) },
    });
  }
  return state.offset;
}

/** The chunk a PATCH or PUT carries, with where it claims to start and its length. */
function readChunk(ctx: Ctx): Chunk {
  const tokenOffset = readToken(ctx);
  const headers = ctx.request.headers;
  const range = parseContentRange(headers.get("content-range"));
  const length = parseLength(headers.get("content-length"), "Content-Length");
  const rangeLength = range ? range.end - range.start + 1 : null;
  if (rangeLength !== null && length !== null && rangeLength !== length) {
    throw new RegistryError(
      "SIZE_INVALID",
      `Content-Range covers ${rangeLength} bytes but Content-Length is ${length}`,
    );
  }
  return {
    body: requestBody(ctx),
    start: range?.start ?? tokenOffset,
    length: rangeLength ?? length,
  };
}

/**
 * Adds `Location` and `Docker-Upload-UUID` to an error about where the session stands
 * (a 416, a stalled body), so the client can resume from the offset it reports.
 */
async function reportingSession(ctx: Ctx, run: () => Promise<Response>): Promise<Response> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof RegistryError && (err.code === "RANGE_INVALID" || err.hints.upload)) {
      await ctx.request.body?.cancel().catch(() => {});
      const session = await ctx.repository.uploads.status(ctx.params.uuid).catch(() => null);
      if (session) {
        const { Location, "Docker-Upload-UUID": uuid } = sessionHeaders(ctx, session);
        throw new HttpError(err.code, err.message, {
          ...err.hints,
          upload: { id: session.id, offset: session.offset },
          detail: err.detail,
          cause: err,
          headers: { Location, "Docker-Upload-UUID": uuid },
        });
      }
    }
    throw err;
  }
}

/** Routes of this module (before the blob route, which shares the `/blobs/` prefix). */
export const routes: Route[] = [
  {
    name: "upload",
    pattern: new RegExp(`^/v2/${NAME}/blobs/uploads/?$`),
    methods: { POST: start },
    access: { POST: ["pull", "push"] },
  },
  {
    name: "upload-session",
    pattern: new RegExp(`^/v2/${NAME}/blobs/uploads/(?<uuid>[^/]+)$`),
    methods: { GET: status, PATCH: patch, PUT: finish, DELETE: cancel },
    access: { GET: ["pull"], PATCH: ["pull", "push"], PUT: ["pull", "push"], DELETE: ["push"] },
  },
];
