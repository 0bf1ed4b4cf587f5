/**
 * @module
 * X.509 for `auth.token.rootcertbundle`: reading the bundle, and checking a token's `x5c`
 * header (its signing certificate, then any intermediates) up to a certificate of the
 * bundle. Every certificate must be within its validity period, each must be issued and
 * signed by the next, and every issuer must be a CA, as distribution's verifier demands.
 */
import { Buffer } from "node:buffer";
import { X509Certificate } from "node:crypto";

/** Longest `x5c` chain accepted (leaf plus intermediates). */
const MAX_CHAIN = 8;

/** Certificates of a PEM bundle; throws when a `CERTIFICATE` block does not parse. */
export function parseBundle(text: string): X509Certificate[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((pem, i) => {
    try {
      return new X509Certificate(pem);
    } catch (err) {
      throw new Error(
        `certificate ${i + 1} of the bundle does not parse: ${(err as Error).message}`,
      );
    }
  });
}

function valid(cert: X509Certificate, now: Date): boolean {
  return cert.validFromDate.getTime() <= now.getTime() &&
    now.getTime() <= cert.validToDate.getTime();
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  return issuer.ca && cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

/**
 * The signing certificate of a token whose `x5c` chain leads to one of `roots`; throws
 * saying why it does not.
 */
export function chainLeaf(
  x5c: unknown,
  roots: readonly X509Certificate[],
  now: Date = new Date(),
): X509Certificate {
  if (
    !Array.isArray(x5c) || x5c.length === 0 || x5c.length > MAX_CHAIN ||
    x5c.some((c) => typeof c !== "string" || !/^[A-Za-z0-9+/]+=*$/.test(c))
  ) {
    throw new Error("the x5c header is not a list of base64 certificates");
  }
  let chain: X509Certificate[];
  try {
    chain = x5c.map((c: string) => new X509Certificate(Buffer.from(c, "base64")));
  } catch {
    throw new Error("a certificate of the x5c header does not parse");
  }
  for (const cert of chain) {
    if (!valid(cert, now)) throw new Error(`certificate "${cert.subject}" is not valid now`);
  }
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!issuedBy(chain[i], chain[i + 1])) {
      throw new Error(`certificate "${chain[i].subject}" is not issued by the next in x5c`);
    }
  }
  const top = chain[chain.length - 1];
  const trusted = roots.some((root) =>
    valid(root, now) && (root.raw.equals(top.raw) || issuedBy(top, root))
  );
  if (!trusted) throw new Error("the x5c chain does not lead to a certificate of the bundle");
  return chain[0];
}
