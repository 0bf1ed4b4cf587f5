/**
 * @module
 * Berth over TLS (`http.tls.certificate`, `key`) with a CA made by openssl in the test:
 * curl speaks HTTP/2 and HTTP/1.1 to it, skopeo and podman push and pull with TLS
 * verification on; without the CA they refuse the server. With `http.tls.clientcas` a
 * client certificate signed by one of those CAs is required: curl, skopeo and podman
 * with one work, without one (or with a rogue one) the handshake fails.
 */
import assert from "node:assert/strict";
import { type Certs, curl, makeCerts } from "../helpers/certs.ts";
import { Layout, type Written } from "../helpers/images.ts";
import { type Served, startServing } from "../helpers/serving.ts";
import { type ToolResult, tryTool } from "../helpers/tool.ts";
import { trySkopeo as skopeo } from "./skopeo.ts";

async function podmanUsable(): Promise<boolean> {
  const root = await Deno.makeTempDir({ prefix: "berth-podman-probe-" });
  try {
    const out = await new Deno.Command("podman", {
      args: [...podmanFlags(root), "info", "--format", "{{.Store.GraphDriverName}}"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

function podmanFlags(root: string): string[] {
  return [
    "--root",
    `${root}/root`,
    "--runroot",
    `${root}/run`,
    "--storage-driver=vfs",
    "--cgroup-manager=cgroupfs",
    "--events-backend=none",
    "--log-level=error",
  ];
}

/** Runs podman on the store under `root`; how it ended (refusals are under test). */
function podman(root: string, ...args: string[]): Promise<ToolResult> {
  return tryTool("podman", [...podmanFlags(root), ...args], {
    env: { REGISTRY_AUTH_FILE: `${root}/auth.json`, TMPDIR: root },
    label: `podman ${args.join(" ")}`,
  });
}

/** Loads the test image into podman's store under `root`, tagged `ref`. */
async function podmanTagged(root: string, layout: Layout, image: Written, ref: string) {
  let r = await podman(root, "pull", `oci:${layout.dir}:v1`);
  assert.equal(r.code, 0, r.err);
  // podman's image ID is the config digest.
  const id = JSON.parse(new TextDecoder().decode(await layout.read(image.digest))).config.digest;
  r = await podman(root, "tag", id.slice(7), ref);
  assert.equal(r.code, 0, r.err);
}

const usePodman = await podmanUsable();
if (!usePodman) console.warn("tls_test: podman cannot run here; its steps are skipped");

async function serveTls(certs: Certs, clientcas?: string[]): Promise<Served & { dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "berth-tls-" });
  const served = await startServing({
    storage: { filesystem: { rootdirectory: `${dir}/blobs` } },
    berth: { datadir: dir, metadata: { driver: "memory" } },
    http: {
      tls: {
        certificate: certs.serverCert,
        key: certs.serverKey,
        ...(clientcas ? { clientcas } : {}),
      },
    },
  });
  assert.ok(served.url.startsWith("https://127.0.0.1:"), served.url);
  return { ...served, dir };
}

/** skopeo push of the layout's `v1` and pull back; asserts the manifest digest survived. */
async function roundTrip(
  host: string,
  layout: Layout,
  image: Written,
  certDir: string,
  repo: string,
) {
  const push = await skopeo(
    "copy",
    "--preserve-digests",
    "--dest-cert-dir",
    certDir,
    `oci:${layout.dir}:v1`,
    `docker://${host}/${repo}:v1`,
  );
  assert.equal(push.code, 0, push.err);
  const out = await Deno.makeTempDir({ prefix: "berth-tls-pulled-" });
  try {
    const pull = await skopeo(
      "copy",
      "--preserve-digests",
      "--src-cert-dir",
      certDir,
      `docker://${host}/${repo}:v1`,
      `oci:${out}:v1`,
    );
    assert.equal(pull.code, 0, pull.err);
    const index = JSON.parse(await Deno.readTextFile(`${out}/index.json`));
    assert.equal(index.manifests[0].digest, image.digest);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
}

Deno.test("TLS: curl, skopeo and podman over HTTPS with HTTP/2, verifying the server", async (t) => {
  const certs = await makeCerts();
  const served = await serveTls(certs);
  const layout = await Layout.create();
  const image = await layout.image([300_000, 5000]);
  await layout.tag(image, "v1");
  const base = `https://${served.host}`;
  try {
    await t.step("curl: HTTP/2 by ALPN, HTTP/1.1 when asked, refused without the CA", async () => {
      const h2 = await curl(
        "--cacert",
        certs.ca,
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{http_version}",
        `${base}/v2/`,
      );
      assert.equal(h2.out, "200 2", h2.err);
      const h1 = await curl(
        "--http1.1",
        "--cacert",
        certs.ca,
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{http_version}",
        `${base}/v2/`,
      );
      assert.equal(h1.out, "200 1.1", h1.err);
      const untrusted = await curl("-o", "/dev/null", `${base}/v2/`);
      assert.equal(untrusted.code, 60, `curl should not trust the server: ${untrusted.err}`);
    });

    await t.step("skopeo pushes and pulls with TLS verification", async () => {
      await roundTrip(served.host, layout, image, certs.trustDir, "tls/app");
      const untrusted = await skopeo("inspect", "--raw", `docker://${served.host}/tls/app:v1`);
      assert.notEqual(untrusted.code, 0);
      assert.match(untrusted.err, /certificate|x509/i);
    });

    await t.step({
      name: "podman pushes and pulls with --cert-dir",
      ignore: !usePodman,
      fn: async () => {
        const root = await Deno.makeTempDir({ prefix: "berth-podman-tls-" });
        await Deno.writeTextFile(`${root}/auth.json`, '{"auths":{}}');
        try {
          const ref = `${served.host}/tls/pod:v1`;
          await podmanTagged(root, layout, image, ref);
          let r = await podman(root, "push", "--cert-dir", certs.trustDir, ref);
          assert.equal(r.code, 0, r.err);
          r = await podman(root, "rmi", "--all", "--force");
          assert.equal(r.code, 0, r.err);
          r = await podman(root, "pull", "--cert-dir", certs.trustDir, ref);
          assert.equal(r.code, 0, r.err);
          const untrusted = await podman(root, "pull", ref);
          assert.notEqual(untrusted.code, 0, "podman should not trust the server without the CA");
        } finally {
          await Deno.remove(root, { recursive: true }).catch(() => {});
        }
      },
    });
  } finally {
    await served.close();
    await layout.remove();
    await Deno.remove(served.dir, { recursive: true });
    await Deno.remove(certs.dir, { recursive: true });
  }
});

Deno.test("TLS client certificates: required and verified when http.tls.clientcas is set", async (t) => {
  const certs = await makeCerts();
  const served = await serveTls(certs, [certs.ca]);
  const layout = await Layout.create();
  const image = await layout.image([200_000]);
  await layout.tag(image, "v1");
  const base = `https://${served.host}`;
  try {
    await t.step(
      "curl: with the client certificate over HTTP/2 and HTTP/1.1; refused without",
      async () => {
        const withCert = [
          "--cacert",
          certs.ca,
          "--cert",
          certs.clientCert,
          "--key",
          certs.clientKey,
        ];
        const h2 = await curl(
          ...withCert,
          "-o",
          "/dev/null",
          "-w",
          "%{http_code} %{http_version}",
          `${base}/v2/`,
        );
        assert.equal(h2.out, "200 2", h2.err);
        const h1 = await curl(...withCert, "--http1.1", "-D", "-", `${base}/v2/`);
        assert.equal(h1.code, 0, h1.err);
        assert.match(h1.out, /^HTTP\/1\.1 200/);
        assert.match(h1.out, /docker-distribution-api-version: registry\/2\.0/i);
        const without = await curl("--cacert", certs.ca, "-o", "/dev/null", `${base}/v2/`);
        // Refused in the handshake (curl words it as an alert, a reset or a closed socket),
        // not unreachable (7) or timed out (28).
        assert.ok(
          ![0, 7, 28].includes(without.code),
          `no certificate must be refused: ${without.err}`,
        );
        const rogue = await curl(
          "--cacert",
          certs.ca,
          "--cert",
          certs.rogueCert,
          "--key",
          certs.rogueKey,
          "-o",
          "/dev/null",
          `${base}/v2/`,
        );
        assert.ok(
          ![0, 7, 28].includes(rogue.code),
          `a rogue certificate must be refused: ${rogue.err}`,
        );
      },
    );

    await t.step(
      "skopeo with a client certificate pushes and pulls; without one it is refused",
      async () => {
        await roundTrip(served.host, layout, image, certs.clientDir, "mtls/app");
        const refused = await skopeo(
          "inspect",
          "--raw",
          "--cert-dir",
          certs.trustDir,
          `docker://${served.host}/mtls/app:v1`,
        );
        assert.notEqual(refused.code, 0, "skopeo without a client certificate must be refused");
      },
    );

    await t.step({
      name: "podman with a client certificate pushes; without one it is refused",
      ignore: !usePodman,
      fn: async () => {
        const root = await Deno.makeTempDir({ prefix: "berth-podman-mtls-" });
        await Deno.writeTextFile(`${root}/auth.json`, '{"auths":{}}');
        try {
          const ref = `${served.host}/mtls/pod:v1`;
          await podmanTagged(root, layout, image, ref);
          const r = await podman(root, "push", "--cert-dir", certs.clientDir, ref);
          assert.equal(r.code, 0, r.err);
          const refused = await podman(root, "push", "--cert-dir", certs.trustDir, ref);
          assert.notEqual(refused.code, 0, "podman without a client certificate must be refused");
        } finally {
          await Deno.remove(root, { recursive: true }).catch(() => {});
        }
      },
    });
  } finally {
    await served.close();
    await layout.remove();
    await Deno.remove(served.dir, { recursive: true });
    await Deno.remove(certs.dir, { recursive: true });
  }
});

Deno.test("TLS: unreadable certificate files stop start-up naming the setting", async () => {
  const certs = await makeCerts();
  try {
    await assert.rejects(
      startServing({
        http: { tls: { certificate: `${certs.dir}/missing.pem`, key: certs.serverKey } },
      }),
      /http\.tls\.certificate "[^"]*missing\.pem" cannot be read/,
    );
    await assert.rejects(
      startServing({
        http: {
          tls: {
            certificate: certs.serverCert,
            key: certs.serverKey,
            clientcas: [`${certs.dir}/server.ext`],
          },
        },
      }),
      /http\.tls\.clientcas "[^"]*server\.ext" cannot be read: it holds no PEM block/,
    );
  } finally {
    await Deno.remove(certs.dir, { recursive: true });
  }
});
