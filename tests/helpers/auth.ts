/**
 * @module
 * Test fixtures for access control: htpasswd files, Basic headers, and a registry whose
 * log lines are kept for inspection.
 */
import bcrypt from "bcryptjs";
import { createLogger } from "../../src/log.ts";
import { startRegistry, type TestRegistry } from "./registry.ts";
import { derOf, issue, selfSigned } from "./openssl.ts";

/** Writes an htpasswd file of bcrypt entries (as `htpasswd -B` writes them). */
export async function htpasswdFile(users: Record<string, string>): Promise<string> {
  const lines = Object.entries(users).map(([user, password]) =>
    `${user}:${bcrypt.hashSync(password, 4).replace(/^\$2[ab]\$/, "$2y$")}`
  );
  const path = await Deno.makeTempFile({ prefix: "berth-htpasswd-" });
  await Deno.writeTextFile(path, lines.join("\n") + "\n");
  return path;
}

/** An `Authorization: Basic` header. */
export function basic(user: string, password: string): Record<string, string> {
  return { Authorization: `Basic ${btoa(`${user}:${password}`)}` };
}

/** A registry with `auth`, keeping every log line it writes. */
export async function startAuthRegistry(
  auth: Record<string, unknown>,
  extra: Parameters<typeof startRegistry>[0] = {},
): Promise<TestRegistry & { logs: string[] }> {
  const logs: string[] = [];
  const logger = createLogger({
    level: "debug",
    instanceId: "test",
    write: (_, line) => logs.push(line),
  });
  const reg = await startRegistry({ ...extra, logger, doc: { ...(extra.doc ?? {}), auth } });
  return { ...reg, logs };
}

/** A small PKI made with openssl, for `rootcertbundle` tests. */
export interface Pki {
  dir: string;
  /** Self-signed root CA (EC P-256): the bundle Berth trusts. */
  rootPem: string;
  /** Private key of the root (PKCS#8 PEM), which signs tokens directly. */
  rootKey: string;
  /** Key of the leaf certificate (RSA 2048, PKCS#8 PEM), issued by the intermediate. */
  leafKey: string;
  /** `x5c` of the leaf: [leaf, intermediate], base64 DER. */
  x5c: string[];
  /** A chain whose middle certificate is not a CA: [leaf2, leaf], with leaf2's key. */
  forged: { x5c: string[]; key: string };
  /** A self-signed certificate no bundle holds, with its key. */
  stranger: { x5c: string[]; key: string };
  remove(): Promise<void>;
}

/** Root, intermediate and leaf certificates (and some that must be refused). */
export async function makePki(): Promise<Pki> {
  const dir = await Deno.makeTempDir({ prefix: "berth-pki-" });
  const ca = "basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign,digitalSignature\n";
  const leaf = "basicConstraints=critical,CA:FALSE\nkeyUsage=digitalSignature\n";
  await Deno.writeTextFile(`${dir}/ca.ext`, ca);
  await Deno.writeTextFile(`${dir}/leaf.ext`, leaf);
  const root = (name: string, cn: string) =>
    selfSigned(dir, name, `/CN=${cn}`, [
      "basicConstraints=critical,CA:TRUE",
      "keyUsage=keyCertSign,digitalSignature",
    ]);
  const issued = (name: string, cn: string, issuer: string, extfile: string, key?: string[]) =>
    issue(dir, name, `/CN=${cn}`, issuer, { days: 1, extfile, key });
  await root("root", "Berth test root");
  await issued("int", "Berth test intermediate", "root", "ca.ext");
  await issued("leaf", "token-signer", "int", "leaf.ext", ["-newkey", "rsa:2048", "-nodes"]);
  await issued("leaf2", "forged", "leaf", "leaf.ext");
  await root("stranger", "stranger");
  const read = (name: string) => Deno.readTextFile(`${dir}/${name}`);
  const der = (name: string) => derOf(dir, name);
  return {
    dir,
    rootPem: `${dir}/root.pem`,
    rootKey: await read("root.key"),
    leafKey: await read("leaf.key"),
    x5c: [await der("leaf"), await der("int")],
    forged: { x5c: [await der("leaf2"), await der("leaf")], key: await read("leaf2.key") },
    stranger: { x5c: [await der("stranger")], key: await read("stranger.key") },
    remove: () => Deno.remove(dir, { recursive: true }),
  };
}
