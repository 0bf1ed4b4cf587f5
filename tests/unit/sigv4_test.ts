/**
 * The S3 driver's SigV4 signing, checked against AWS's published vectors rather than
 * against itself:
 * - the Signature Version 4 test suite (`aws-sig-v4-test-suite`: AKIDEXAMPLE, us-east-1,
 *   service `service`, 20150830T123600Z): canonical request, string to sign and
 *   `Authorization` header of several cases;
 * - the S3 examples of "Authenticating Requests (AWS Signature Version 4)": GET Object
 *   with a range, PUT Object, ListObjects, and the presigned GET of
 *   `examplebucket/test.txt` (AKIAIOSFODNN7EXAMPLE, 20130524T000000Z).
 * The expected strings below are those documents' data, copied as facts.
 */
import assert from "node:assert/strict";
import { AwsV4Signer } from "aws4fetch";
import {
  type Credentials,
  EMPTY_SHA256,
  presignUrl,
  sha256Hex,
  signHeaders,
  type SigningScope,
} from "../../drivers/blob/s3_sign.ts";

const SUITE_CREDENTIALS: Credentials = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};
const SUITE_SCOPE: SigningScope = { region: "us-east-1", service: "service" };
const SUITE_DATE = "20150830T123600Z";
const SUITE_CREDENTIAL = "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request";

const S3_CREDENTIALS: Credentials = {
  accessKeyId: "AKIAIOSFODNN7EXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
};
const S3_SCOPE: SigningScope = { region: "us-east-1", service: "s3" };
const S3_DATE = "20130524T000000Z";

interface SuiteCase {
  name: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** The case's `.creq` file. */
  creq: string[];
  /** Last line of its `.sts` file (hash of the canonical request). */
  stsHash: string;
  signedHeaders: string;
  signature: string;
  /** Sign headers aws4fetch leaves out by default (content-type). */
  allHeaders?: boolean;
}

const SUITE: SuiteCase[] = [
  {
    name: "get-vanilla",
    method: "GET",
    url: "https://example.amazonaws.com/",
    headers: {},
    creq: [
      "GET",
      "/",
      "",
      "host:example.amazonaws.com",
      "x-amz-date:20150830T123600Z",
      "",
      "host;x-amz-date",
      EMPTY_SHA256,
    ],
    stsHash: "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
    signedHeaders: "host;x-amz-date",
    signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
  },
  {
    name: "get-vanilla-query-order-key-case",
    method: "GET",
    url: "https://example.amazonaws.com/?Param2=value2&Param1=value1",
    headers: {},
    creq: [
      "GET",
      "/",
      "Param1=value1&Param2=value2",
      "host:example.amazonaws.com",
      "x-amz-date:20150830T123600Z",
      "",
      "host;x-amz-date",
      EMPTY_SHA256,
    ],
    stsHash: "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
    signedHeaders: "host;x-amz-date",
    signature: "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
  },
  {
    name: "get-header-value-trim",
    method: "GET",
    url: "https://example.amazonaws.com/",
    headers: { "My-Header1": " value1", "My-Header2": ' "a   b   c"' },
    creq: [
      "GET",
      "/",
      "",
      "host:example.amazonaws.com",
      "my-header1:value1",
      'my-header2:"a b c"',
      "x-amz-date:20150830T123600Z",
      "",
      "host;my-header1;my-header2;x-amz-date",
      EMPTY_SHA256,
    ],
    stsHash: "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
    signedHeaders: "host;my-header1;my-header2;x-amz-date",
    signature: "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
  },
  {
    name: "get-unreserved",
    method: "GET",
    url:
      "https://example.amazonaws.com/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    headers: {},
    creq: [
      "GET",
      "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
      "",
      "host:example.amazonaws.com",
      "x-amz-date:20150830T123600Z",
      "",
      "host;x-amz-date",
      EMPTY_SHA256,
    ],
    stsHash: "6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9",
    signedHeaders: "host;x-amz-date",
    signature: "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
  },
  {
    name: "post-x-www-form-urlencoded",
    method: "POST",
    url: "https://example.amazonaws.com/",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: "Param1=value1",
    creq: [
      "POST",
      "/",
      "",
      "content-type:application/x-www-form-urlencoded",
      "host:example.amazonaws.com",
      "x-amz-date:20150830T123600Z",
      "",
      "content-type;host;x-amz-date",
      "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
    ],
    stsHash: "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281",
    signedHeaders: "content-type;host;x-amz-date",
    signature: "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
    allHeaders: true,
  },
];

function suiteSigner(c: SuiteCase): AwsV4Signer {
  return new AwsV4Signer({
    method: c.method,
    url: c.url,
    headers: c.headers,
    body: c.body,
    ...SUITE_CREDENTIALS,
    ...SUITE_SCOPE,
    datetime: SUITE_DATE,
    allHeaders: c.allHeaders,
  });
}

Deno.test("SigV4 reproduces the aws-sig-v4-test-suite vectors", async (t) => {
  for (const c of SUITE) {
    await t.step(`${c.name}: canonical request, string to sign and signature`, async () => {
      const signer = suiteSigner(c);
      assert.equal(await signer.canonicalString(), c.creq.join("\n"));
      assert.equal(
        await signer.stringToSign(),
        `AWS4-HMAC-SHA256\n${SUITE_DATE}\n20150830/us-east-1/service/aws4_request\n${c.stsHash}`,
      );
      assert.equal(
        await signer.authHeader(),
        `AWS4-HMAC-SHA256 Credential=${SUITE_CREDENTIAL}, ` +
          `SignedHeaders=${c.signedHeaders}, Signature=${c.signature}`,
      );
    });
  }

  await t.step("the driver's signHeaders gives the same Authorization headers", async () => {
    for (const c of SUITE.filter((c) => !c.allHeaders)) {
      const headers = await signHeaders(
        { method: c.method, url: new URL(c.url), headers: c.headers, datetime: SUITE_DATE },
        SUITE_CREDENTIALS,
        SUITE_SCOPE,
      );
      assert.equal(headers.get("x-amz-date"), SUITE_DATE, c.name);
      assert.match(headers.get("authorization")!, new RegExp(`Signature=${c.signature}$`), c.name);
    }
  });
});

/** The hex signature of an `Authorization` header. */
function signatureOf(authorization: string | null): string {
  return /Signature=([0-9a-f]{64})$/.exec(authorization ?? "")?.[1] ?? "";
}

/** The signed headers of an `Authorization` header. */
function signedHeadersOf(authorization: string | null): string {
  return /SignedHeaders=([^,]+)/.exec(authorization ?? "")?.[1] ?? "";
}

Deno.test("SigV4 reproduces the S3 documentation's examples", async (t) => {
  await t.step("PUT Object: payload hash header, `$` in the key encoded once", async () => {
    const body = new TextEncoder().encode("Welcome to Amazon S3.");
    const payloadHash = await sha256Hex(body);
    assert.equal(payloadHash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    const url = new URL("https://examplebucket.s3.amazonaws.com/test$file.text");
    const headers = {
      Date: "Fri, 24 May 2013 00:00:00 GMT",
      "x-amz-storage-class": "REDUCED_REDUNDANCY",
    };
    const signer = new AwsV4Signer({
      method: "PUT",
      url: url.toString(),
      headers: { ...headers, "x-amz-content-sha256": payloadHash },
      ...S3_CREDENTIALS,
      ...S3_SCOPE,
      datetime: S3_DATE,
    });
    assert.equal(
      await signer.canonicalString(),
      [
        "PUT",
        "/test%24file.text",
        "",
        "date:Fri, 24 May 2013 00:00:00 GMT",
        "host:examplebucket.s3.amazonaws.com",
        `x-amz-content-sha256:${payloadHash}`,
        "x-amz-date:20130524T000000Z",
        "x-amz-storage-class:REDUCED_REDUNDANCY",
        "",
        "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
        payloadHash,
      ].join("\n"),
    );
    assert.equal(
      await signer.stringToSign(),
      "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n" +
        "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
    );
    const signed = await signHeaders(
      { method: "PUT", url, headers, payloadHash, datetime: S3_DATE },
      S3_CREDENTIALS,
      S3_SCOPE,
    );
    const authorization = signed.get("authorization");
    assert.equal(
      signedHeadersOf(authorization),
      "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
    );
    assert.equal(
      signatureOf(authorization),
      "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
    );
    assert.ok(authorization!.includes("Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"));
  });

  await t.step("GET Bucket (ListObjects): query parameters sorted and signed", async () => {
    const signed = await signHeaders(
      {
        method: "GET",
        url: new URL("https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J"),
        payloadHash: EMPTY_SHA256,
        datetime: S3_DATE,
      },
      S3_CREDENTIALS,
      S3_SCOPE,
    );
    const authorization = signed.get("authorization");
    assert.equal(signedHeadersOf(authorization), "host;x-amz-content-sha256;x-amz-date");
    assert.equal(
      signatureOf(authorization),
      "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
    );
  });

  await t.step("GET Object with a Range header signed", async () => {
    const signer = new AwsV4Signer({
      method: "GET",
      url: "https://examplebucket.s3.amazonaws.com/test.txt",
      headers: { Range: "bytes=0-9", "x-amz-content-sha256": EMPTY_SHA256 },
      ...S3_CREDENTIALS,
      ...S3_SCOPE,
      datetime: S3_DATE,
      allHeaders: true,
    });
    assert.equal(
      await signer.stringToSign(),
      "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n" +
        "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
    );
    assert.equal(
      await signer.signature(),
      "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    );
  });

  await t.step("presigned GET of examplebucket/test.txt for 86400 seconds", async () => {
    const url = await presignUrl(
      "GET",
      new URL("https://examplebucket.s3.amazonaws.com/test.txt"),
      86_400,
      S3_CREDENTIALS,
      S3_SCOPE,
      S3_DATE,
    );
    assert.equal(url.origin + url.pathname, "https://examplebucket.s3.amazonaws.com/test.txt");
    const query = Object.fromEntries(url.searchParams);
    assert.deepEqual(query, {
      "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
      "X-Amz-Credential": "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request",
      "X-Amz-Date": "20130524T000000Z",
      "X-Amz-Expires": "86400",
      "X-Amz-SignedHeaders": "host",
      "X-Amz-Signature": "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
    });
  });

  await t.step("presigned URLs carry a session token and cap the lifetime at 7 days", async () => {
    const url = await presignUrl(
      "GET",
      new URL("https://examplebucket.s3.amazonaws.com/test.txt"),
      30 * 86_400,
      { ...S3_CREDENTIALS, sessionToken: "token/with+chars" },
      S3_SCOPE,
      S3_DATE,
    );
    assert.equal(url.searchParams.get("X-Amz-Expires"), "604800");
    assert.equal(url.searchParams.get("X-Amz-Security-Token"), "token/with+chars");
    assert.match(url.searchParams.get("X-Amz-Signature")!, /^[0-9a-f]{64}$/);
  });
});
