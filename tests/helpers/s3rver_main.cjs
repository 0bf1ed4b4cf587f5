"use strict";
/**
 * Runs s3rver 3.7.1 for Berth's tests (started by `tests/helpers/s3rver.ts`), on
 * 127.0.0.1 and the given port (0 for any), with one bucket, and prints
 * `S3RVER_READY <port>` once it listens.
 *
 * s3rver lacks parts of the multipart API that real S3 (and MinIO, R2, GCS) have and
 * that the S3 driver relies on, so this adds them over s3rver's own filesystem layout
 * (`<dir>/<bucket>/._S3rver_uploads/<uploadId>/<part>` plus `<part>.md5`):
 * - ListParts (`GET ?uploadId`), paged by `max-parts` (capped by S3RVER_MAX_PARTS,
 *   1000 by default, as S3 caps it) and `part-number-marker`;
 * - AbortMultipartUpload (`DELETE ?uploadId`);
 * - a smaller ListObjectsV2 page (S3RVER_MAX_KEYS), to exercise continuation tokens;
 * - S3's answer to a ranged GET of an empty object: 416 InvalidRange;
 * - S3's checks: UploadPart and CompleteMultipartUpload on an unknown upload are 404
 *   NoSuchUpload; completion requires ascending part numbers, ETags that match the
 *   stored parts (InvalidPart) and every part but the last to be at least 5 MiB
 *   (EntityTooSmall).
 *
 * Usage: node s3rver_main.cjs <s3rver module dir> <data dir> <port> <bucket>
 */
const fs = require("fs");
const path = require("path");

const [modulePath, directory, port, bucket] = process.argv.slice(2);
const S3rver = require(modulePath);
const S3Error = require(path.join(modulePath, "lib/models/error"));
const FilesystemStore = require(path.join(modulePath, "lib/stores/filesystem"));

const MIN_PART = 5 * 1024 * 1024;
const maxPartsCap = Number(process.env.S3RVER_MAX_PARTS || 1000);
const maxKeysCap = Number(process.env.S3RVER_MAX_KEYS || 1000);

function uploadDir(root, bucketName, uploadId) {
  if (!/^[0-9a-f]+$/.test(uploadId || "")) return null;
  return path.join(root, bucketName, "._S3rver_uploads", uploadId);
}

function requireUpload(dir) {
  if (!dir || !fs.existsSync(path.join(dir, "key"))) {
    throw new S3Error("NoSuchUpload", "The specified upload does not exist.");
  }
}

function storedParts(dir) {
  return fs.readdirSync(dir)
    .filter((name) => /^\d+$/.test(name))
    .map((name) => ({
      number: Number(name),
      size: fs.statSync(path.join(dir, name)).size,
      etag: fs.readFileSync(path.join(dir, `${name}.md5`), "utf8"),
    }))
    .sort((a, b) => a.number - b.number);
}

const putPart = FilesystemStore.prototype.putPart;
FilesystemStore.prototype.putPart = function (bucketName, uploadId, partNumber, content) {
  requireUpload(uploadDir(this.rootDirectory, bucketName, uploadId));
  return putPart.call(this, bucketName, uploadId, partNumber, content);
};

const putObjectMultipart = FilesystemStore.prototype.putObjectMultipart;
FilesystemStore.prototype.putObjectMultipart = function (bucketName, uploadId, parts) {
  const dir = uploadDir(this.rootDirectory, bucketName, uploadId);
  requireUpload(dir);
  const stored = new Map(storedParts(dir).map((part) => [part.number, part]));
  parts.forEach((part, index) => {
    if (index > 0 && part.number <= parts[index - 1].number) {
      throw new S3Error("InvalidPartOrder", "The list of parts was not in ascending order.");
    }
    const found = stored.get(part.number);
    if (!found || found.etag !== part.etag) {
      throw new S3Error("InvalidPart", `Part ${part.number} was not found or its ETag differs.`);
    }
    if (index < parts.length - 1 && found.size < MIN_PART) {
      throw new S3Error("EntityTooSmall", `Part ${part.number} is smaller than 5 MiB.`);
    }
  });
  return putObjectMultipart.call(this, bucketName, uploadId, parts);
};

// s3rver answers a ranged GET of an empty object with a 206 promising one byte it never
// sends; S3 answers 416 InvalidRange.
const getObject = FilesystemStore.prototype.getObject;
FilesystemStore.prototype.getObject = async function (bucketName, key, options) {
  const object = await getObject.call(this, bucketName, key, options);
  if (object && object.range && object.content && Number(object.size) === 0) {
    object.content.destroy();
    object.content = null;
  }
  return object;
};

function escape(text) {
  return String(text).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Ahead of s3rver's router (path-style only): ListParts, AbortMultipartUpload, and the
 * page-size cap of ListObjectsV2.
 */
function extras(ctx, next) {
  if (/^\/[^/]+\/?$/.test(ctx.path) && ctx.method === "GET" && ctx.query["list-type"] === "2") {
    const asked = Number(ctx.query["max-keys"] || 1000);
    ctx.query = { ...ctx.query, "max-keys": String(Math.min(asked, maxKeysCap)) };
    return next();
  }
  const match = /^\/([^/]+)\/(.+)$/.exec(ctx.path);
  const uploadId = ctx.query.uploadId;
  if (!match || uploadId === undefined || !["GET", "DELETE"].includes(ctx.method)) {
    return next();
  }
  const dir = uploadDir(directory, match[1], uploadId);
  requireUpload(dir);
  if (ctx.method === "DELETE") {
    fs.rmSync(dir, { recursive: true, force: true });
    ctx.status = 204;
    return;
  }
  const max = Math.min(maxPartsCap, Number(ctx.query["max-parts"] || 1000));
  const marker = Number(ctx.query["part-number-marker"] || 0);
  const after = storedParts(dir).filter((part) => part.number > marker);
  const page = after.slice(0, max);
  const truncated = after.length > page.length;
  const items = page.map((part) =>
    `<Part><PartNumber>${part.number}</PartNumber><ETag>"${part.etag}"</ETag>` +
    `<Size>${part.size}</Size></Part>`
  );
  ctx.type = "application/xml";
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<ListPartsResult>` +
    `<Bucket>${escape(match[1])}</Bucket><Key>${escape(decodeURIComponent(match[2]))}</Key>` +
    `<UploadId>${escape(uploadId)}</UploadId><PartNumberMarker>${marker}</PartNumberMarker>` +
    (truncated
      ? `<NextPartNumberMarker>${page[page.length - 1].number}</NextPartNumberMarker>`
      : "") +
    `<MaxParts>${max}</MaxParts><IsTruncated>${truncated}</IsTruncated>${items.join("")}` +
    `</ListPartsResult>`;
}

const app = new S3rver({
  address: "127.0.0.1",
  port: Number(port),
  silent: true,
  directory,
  configureBuckets: [{ name: bucket, configs: [] }],
});
app.middleware.unshift(extras);
app.run().then(
  (address) => console.log(`S3RVER_READY ${address.port}`),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
