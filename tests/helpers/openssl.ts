/**
 * @module
 * Certificates made with the real `openssl` for tests (TLS, token `x5c` chains, schema 1
 * signatures): self-signed CAs and certificates they issue, all EC P-256 unless asked.
 */

/** `openssl req` key options: a new EC P-256 key, unencrypted. */
export const EC_P256 = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

/** Runs `openssl <args>` in `cwd`; throws with its stderr when it fails. */
export async function openssl(cwd: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "piped" })
    .output();
  if (out.code !== 0) {
    throw new Error(`openssl ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/**
 * A self-signed certificate `<name>.pem` for `subject` (with its key `<name>.key`) in
 * `dir`, valid for two days, with each of `extensions` (`-addext`).
 */
export function selfSigned(
  dir: string,
  name: string,
  subject: string,
  extensions: string[] = [],
): Promise<void> {
  return openssl(
    dir,
    "req",
    "-x509",
    ...EC_P256,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    "-subj",
    subject,
    ...extensions.flatMap((e) => ["-addext", e]),
  );
}

/** Options of {@linkcode issue}. */
export interface IssueOptions {
  /** Days the certificate is valid (default 2). */
  days?: number;
  /** A file in `dir` with the certificate's extensions. */
  extfile?: string;
  /** `openssl req` key options (default {@linkcode EC_P256}). */
  key?: string[];
}

/** A certificate `<name>.pem` for `subject` (key `<name>.key`) that `<issuer>.pem` issued. */
export async function issue(
  dir: string,
  name: string,
  subject: string,
  issuer: string,
  options: IssueOptions = {},
): Promise<void> {
  const key = options.key ?? EC_P256;
  await openssl(
    dir,
    "req",
    ...key,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    subject,
  );
  await openssl(
    dir,
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${issuer}.pem`,
    "-CAkey",
    `${issuer}.key`,
    "-CAcreateserial",
    "-out",
    `${name}.pem`,
    "-days",
    String(options.days ?? 2),
    ...(options.extfile ? ["-extfile", options.extfile] : []),
  );
}

/** The DER of certificate `<name>.pem` in `dir`, base64 (as `x5c` lists it). */
export async function derOf(dir: string, name: string): Promise<string> {
  return (await Deno.readTextFile(`${dir}/${name}.pem`)).replace(/-----[A-Z ]+-----|\s/g, "");
}
