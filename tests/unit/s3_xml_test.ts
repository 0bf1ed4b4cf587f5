/** The S3 driver's reading and writing of S3 XML documents, on documents shaped like S3's. */
import assert from "node:assert/strict";
import {
  completeMultipartXml,
  parseListObjects,
  parseListParts,
  parseS3Error,
} from "../../drivers/blob/s3_xml.ts";

Deno.test("parseListParts decodes entity-escaped ETags and the next marker", () => {
  const page = parseListParts(`<?xml version="1.0" encoding="UTF-8"?>
<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>b</Bucket><Key>k</Key><UploadId>u</UploadId>
  <PartNumberMarker>0</PartNumberMarker><NextPartNumberMarker>2</NextPartNumberMarker>
  <MaxParts>2</MaxParts><IsTruncated>true</IsTruncated>
  <Part><PartNumber>1</PartNumber><LastModified>2024-01-01T00:00:00.000Z</LastModified>
    <ETag>&quot;7778aef83f66abc1fa1e8477f296d394&quot;</ETag><Size>5242880</Size></Part>
  <Part><PartNumber>2</PartNumber><ETag>"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"</ETag><Size>7</Size></Part>
</ListPartsResult>`);
  assert.deepEqual(page, {
    parts: [
      { number: 1, etag: '"7778aef83f66abc1fa1e8477f296d394"', size: 5242880 },
      { number: 2, etag: '"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"', size: 7 },
    ],
    next: "2",
  });
});

const TOKEN = "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=";

Deno.test("parseListObjects returns objects, sizes, times and the token of truncated pages", () => {
  const xml = (truncated: boolean) =>
    `<ListBucketResult><Name>b</Name><Prefix>r/</Prefix><KeyCount>2</KeyCount>
      <IsTruncated>${truncated}</IsTruncated>
      ${truncated ? `<NextContinuationToken>${TOKEN}</NextContinuationToken>` : ""}
      <Contents><Key>r/a&amp;b</Key><LastModified>2026-11-30T10:00:00.000Z</LastModified>
        <Size>1</Size></Contents>
      <Contents><Key>r/c</Key><Size>2</Size></Contents></ListBucketResult>`;
  assert.deepEqual(parseListObjects(xml(true)), {
    objects: [
      { key: "r/a&b", size: 1, modified: Date.UTC(2026, 10, 30, 10) },
      { key: "r/c", size: 2, modified: 0 },
    ],
    next: TOKEN,
  });
  assert.deepEqual(parseListObjects(xml(false)).next, null);
});

Deno.test("parseS3Error reads the code and message, and ignores other documents", () => {
  assert.deepEqual(
    parseS3Error(
      "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
    ),
    { code: "SlowDown", message: "Please reduce your request rate." },
  );
  assert.equal(parseS3Error("<CompleteMultipartUploadResult/>"), null);
});

Deno.test("completeMultipartXml lists the parts in order with escaped ETags", () => {
  assert.equal(
    completeMultipartXml([{ number: 1, etag: '"abc"' }, { number: 2, etag: '"def"' }]),
    "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&#34;abc&#34;</ETag>" +
      "</Part><Part><PartNumber>2</PartNumber><ETag>&#34;def&#34;</ETag></Part>" +
      "</CompleteMultipartUpload>",
  );
});
