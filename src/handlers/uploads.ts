/**
 * @module
 * Blob uploads: `POST /v2/<name>/blobs/uploads/` (session, monolithic `?digest=`, or
 * `?mount=`), and `GET`/`PATCH`/`PUT`/`DELETE /v2/<name>/blobs/uploads/<id>`.
 */
import type { Ctx } from "../context.ts";
import { RegistryError } from "../errors.ts";
import { empty, location } from "../http.ts";
import { parseDigest } from "../oci/digest.ts";
import { isValidName } from "../oci/names.ts";
import { parseContentRange, parseLength } from "../oci/range.ts";
import { type Chunk, rangeHeaders, type UploadSession } from "../registry/uploads.ts";

/** Headers that describe a session to the client: where to go next and how far it got. */
function sessionHeaders(ctx: Ctx, session: UploadSession): Record<string, string> {
  const token = ctx.deps.tokens.sign({
    repo: session.repo,
    id: session.id,
    offset: session.offset,
    started: session.started,
  });
  return {
    "Location": location(ctx, `/v2/${session.repo}/blobs/uploads/${session.id}?_state=${token}`),
    "Docker-Upload-UUID": session.id,
    ...rangeHeaders(session),
  };
}

function created(ctx: Ctx, digest: string): Response {
  return empty(201, {
    "Location": location(ctx, `/v2/${ctx.repo}/blobs/${digest}`),
    "Docker-Content-Digest": digest,
  });
}

/** `POST`: mount, monolithic upload, or a new session. */
export async function start(ctx: Ctx): Promise<Response> {
  const { uploads, blobs } = ctx.deps.registry;
  const query = ctx.url.searchParams;
  const mount = query.get("mount");
  if (mount !== null) {
    const digest = parseDigest(mount);
    const from = query.get("from");
    // An invalid `from` cannot hold the blob: fall back to a normal upload, as the spec says.
    if (from === null || isValidName(from)) {
      const mounted = await blobs.mount(
        ctx.repo,
        digest,
        from,
        (repo) => ctx.access.can(repo, "pull"),
      );
      if (mounted) return created(ctx, digest.value);
    }
  } else if (query.has("digest")) {
    const digest = parseDigest(query.get("digest"));
    const result = await uploads.monolithic(ctx.repo, digest, ctx.request.body);
    return created(ctx, result.digest);
  }
  await ctx.request.body?.cancel().catch(() => {});
  const session = await uploads.create(ctx.repo);
  const headers = sessionHeaders(ctx, session);
  if (uploads.minChunkLength > 0) headers["OCI-Chunk-Min-Length"] = String(uploads.minChunkLength);
  return empty(202, headers);
}

/** `GET`: where the upload stands (204 with `Range`), so a client can resume. */
export async function status(ctx: Ctx): Promise<Response> {
  readToken(ctx);
  const session = await ctx.deps.registry.uploads.get(ctx.repo, ctx.params.uuid);
  return empty(204, sessionHeaders(ctx, session));
}

/** `PATCH`: appends a chunk (with `Content-Range`) or a streamed body (without). */
export function patch(ctx: Ctx): Promise<Response> {
  return reportingRange(ctx, async () => {
    const chunk = readChunk(ctx);
    const session = await ctx.deps.registry.uploads.append(ctx.repo, ctx.params.uuid, chunk);
    return empty(202, sessionHeaders(ctx, session));
  });
}

/** `PUT ?digest=`: closes the upload, optionally with a last chunk, and publishes. */
export function finish(ctx: Ctx): Promise<Response> {
  return reportingRange(ctx, async () => {
    const digest = parseDigest(ctx.url.searchParams.get("digest"));
    const chunk = readChunk(ctx);
    const result = await ctx.deps.registry.uploads.complete(
      ctx.repo,
      ctx.params.uuid,
      digest,
      chunk,
    );
    return created(ctx, result.digest);
  });
}

/** `DELETE`: cancels the upload. */
export async function cancel(ctx: Ctx): Promise<Response> {
  readToken(ctx);
  await ctx.deps.registry.uploads.cancel(ctx.repo, ctx.params.uuid);
  return empty(204);
}

/** The offset the upload token says the client is at; null without a token. */
function readToken(ctx: Ctx): number | null {
  const token = ctx.url.searchParams.get("_state");
  if (token === null) return null;
  const state = ctx.deps.tokens.verify(token);
  if (!state || state.id !== ctx.params.uuid || state.repo !== ctx.repo) {
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
    body: ctx.request.body,
    start: range?.start ?? tokenOffset,
    length: rangeLength ?? length,
  };
}

/** Adds `Location` and `Docker-Upload-UUID` to a 416, so the client can resume. */
async function reportingRange(ctx: Ctx, run: () => Promise<Response>): Promise<Response> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof RegistryError && err.code === "RANGE_INVALID") {
      await ctx.request.body?.cancel().catch(() => {});
      const session = await ctx.deps.registry.uploads.get(ctx.repo, ctx.params.uuid)
        .catch(() => null);
      if (session) Object.assign(err.headers, sessionHeaders(ctx, session));
    }
    throw err;
  }
}
