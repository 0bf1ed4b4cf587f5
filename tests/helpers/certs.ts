/**
 * @module
 * A throwaway PKI made with the real `openssl`: a CA, a server certificate for 127.0.0.1
 * and localhost signed by it, a client certificate signed by it, and a rogue client
 * certificate signed by nobody Berth trusts. Also the certificate directories skopeo and
 * podman read (`ca.crt`, and `client.cert` + `client.key` for a client certificate).
 */
import { issue, selfSigned } from "./openssl.ts";

/** Paths of the generated files. */
export interface Certs {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  rogueCert: string;
  rogueKey: string;
  /** containers-certs.d(5) directory trusting the CA only. */
  trustDir: string;
  /** The same plus the client certificate. */
  clientDir: string;
}

/** Generates the PKI in a new temp directory. */
export async function makeCerts(): Promise<Certs> {
  const dir = await Deno.makeTempDir({ prefix: "berth-certs-" });
  await selfSigned(dir, "ca", "/CN=Berth Test CA");
  await Deno.writeTextFile(
    `${dir}/server.ext`,
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
  );
  await Deno.writeTextFile(`${dir}/client.ext`, "extendedKeyUsage=clientAuth\n");
  for (const [name, subject] of [["server", "/CN=127.0.0.1"], ["client", "/CN=ci-robot"]]) {
    await issue(dir, name, subject, "ca", { extfile: `${name}.ext` });
  }
  await selfSigned(dir, "rogue", "/CN=rogue");
  const trustDir = `${dir}/trust`;
  const clientDir = `${dir}/client`;
  for (const d of [trustDir, clientDir]) {
    await Deno.mkdir(d);
    await Deno.copyFile(`${dir}/ca.pem`, `${d}/ca.crt`);
  }
  await Deno.copyFile(`${dir}/client.pem`, `${clientDir}/client.cert`);
  await Deno.copyFile(`${dir}/client.key`, `${clientDir}/client.key`);
  return {
    dir,
    ca: `${dir}/ca.pem`,
    serverCert: `${dir}/server.pem`,
    serverKey: `${dir}/server.key`,
    clientCert: `${dir}/client.pem`,
    clientKey: `${dir}/client.key`,
    rogueCert: `${dir}/rogue.pem`,
    rogueKey: `${dir}/rogue.key`,
    trustDir,
    clientDir,
  };
}

/** Runs curl; returns its exit code and what it wrote. */
export async function curl(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = await new Deno.Command("curl", {
    args: ["-sS", "-m", "20", ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  return {
    code: out.code,
    out: new TextDecoder().decode(out.stdout),
    err: new TextDecoder().decode(out.stderr),
  };
}
