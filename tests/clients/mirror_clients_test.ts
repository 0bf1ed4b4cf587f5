/**
 * @module
 * Real clients through a Berth mirror of a real upstream, CNCF distribution 2.8.2 with
 * htpasswd (Basic): images are pushed into distribution with skopeo, then pulled through
 * the mirror by skopeo (by tag, by digest, `--all`), podman (a `registries.conf` mirror
 * entry) and containerd (`ctr images pull --hosts-dir` with a `hosts.toml` mirror, which
 * sends `?ns=docker.io`), each with the upstream's digests. And distribution's own
 * `proxy:` configuration file runs Berth as a pull-through cache unchanged.
 */
import assert from "node:assert/strict";
import type { Logger } from "../../src/log.ts";
import { htpasswdFile } from "../helpers/auth.ts";
import { startDistribution } from "../helpers/distribution.ts";
import { Layout, layoutBlobs } from "../helpers/images.ts";
import { mirrorStats, startMirror } from "../helpers/mirror.ts";
import { assertError } from "../helpers/oci.ts";
import { spawnBerth } from "../helpers/process.ts";
import { runTool } from "../helpers/tool.ts";
import { skopeo, trySkopeo } from "./skopeo.ts";

const CREDS = "up:upstream-pw";

/** Repositories the mirror was asked for (access log), to see what each client reached. */
function recorder(repos: Set<string>): Logger {
  return {
    debug() {},
    info: (msg, fields) => {
      if (msg === "request" && typeof fields?.repo === "string") repos.add(fields.repo);
    },
    warn() {},
    error() {},
  };
}

/** Runs a command; stdout, or a failure with stderr. */
function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  return runTool(cmd, args, { env });
}

Deno.test("skopeo, podman and containerd pull through a Berth mirror of distribution 2.8.2", async (t) => {
  const htpasswd = await htpasswdFile({ up: "upstream-pw" });
  const dist = await startDistribution({ htpasswd });
  const repos = new Set<string>();
  const mirror = await startMirror(
    [{ prefix: "docker.io", remoteurl: dist.url, username: "up", password: "upstream-pw" }],
    { storage: "disk", logger: recorder(repos) },
  );
  const layout = await Layout.create();
  const work = await Deno.makeTempDir({ prefix: "berth-mirror-clients-" });
  try {
    const image = await layout.image([700_000, 300_000, 1000]);
    await layout.tag(image, "v1");
    const { index } = await layout.index([250_000]);
    await layout.tag(index, "multi");
    const src = ["copy", "--dest-tls-verify=false", "--preserve-digests", "--dest-creds", CREDS];
    await skopeo(...src, `oci:${layout.dir}:v1`, `docker://${dist.host}/library/app:v1`);
    await skopeo(
      ...src,
      "--all",
      `oci:${layout.dir}:multi`,
      `docker://${dist.host}/library/multi:v1`,
    );
    const through = `docker://${mirror.host}/docker.io/library`;
    const pull = ["copy", "--src-tls-verify=false", "--preserve-digests"];

    await t.step("skopeo by tag", async () => {
      await skopeo(...pull, `${through}/app:v1`, `oci:${work}/tag:v1`);
      assert.deepEqual(await layoutBlobs(`${work}/tag`), await layout.closure(image.digest));
      const raw = await skopeo("inspect", "--raw", "--tls-verify=false", `${through}/app:v1`);
      assert.equal(raw, new TextDecoder().decode(await layout.read(image.digest)));
    });

    await t.step("skopeo by digest", async () => {
      await skopeo(...pull, `${through}/app@${image.digest}`, `oci:${work}/digest:v1`);
      assert.deepEqual(await layoutBlobs(`${work}/digest`), await layout.closure(image.digest));
    });

    await t.step("skopeo --all of a multi-platform index", async () => {
      await skopeo(...pull, "--all", `${through}/multi:v1`, `oci:${work}/all:v1`);
      assert.deepEqual(await layoutBlobs(`${work}/all`), await layout.closure(index.digest));
    });

    await t.step("podman with a registries.conf mirror entry", async () => {
      // podman refuses a runroot path longer than 50 characters.
      const root = await Deno.makeTempDir({ prefix: "bp-" });
      await Deno.mkdir(`${root}/tmp`, { recursive: true });
      await Deno.writeTextFile(`${root}/auth.json`, '{"auths":{}}');
      await Deno.writeTextFile(
        `${root}/registries.conf`,
        [
          "unqualified-search-registries = []",
          "[[registry]]",
          'prefix = "docker.io"',
          'location = "docker.io"',
          "[[registry.mirror]]",
          `location = "${mirror.host}/docker.io"`,
          "insecure = true",
          "",
        ].join("\n"),
      );
      const flags = [
        ...["--root", `${root}/root`, "--runroot", `${root}/run`, "--tmpdir", `${root}/tmp`],
        ...["--storage-driver=vfs", "--cgroup-manager=cgroupfs", "--events-backend=none"],
      ];
      const env = {
        REGISTRY_AUTH_FILE: `${root}/auth.json`,
        CONTAINERS_REGISTRIES_CONF: `${root}/registries.conf`,
      };
      const before = mirrorStats(mirror.runtime, "docker.io").hits;
      await run("podman", [...flags, "pull", "docker.io/library/app:v1"], env);
      const inspected = JSON.parse(
        await run("podman", [...flags, "image", "inspect", "docker.io/library/app:v1"], env),
      )[0];
      const config = JSON.parse(new TextDecoder().decode(await layout.read(image.digest))).config;
      assert.equal(`sha256:${inspected.Id}`, config.digest, "the same image");
      assert.equal(inspected.Digest, image.digest);
      assert.ok(mirrorStats(mirror.runtime, "docker.io").hits > before, "served by the mirror");
      await run("podman", [...flags, "rmi", "--all", "--force"], env).catch(() => {});
      await Deno.remove(root, { recursive: true }).catch(() => {});
    });

    await t.step("containerd with a hosts.toml mirror (?ns=docker.io)", async () => {
      const dir = `${work}/containerd`;
      await Deno.mkdir(`${dir}/hosts/docker.io`, { recursive: true });
      await Deno.writeTextFile(
        `${dir}/hosts/docker.io/hosts.toml`,
        [
          'server = "https://registry-1.docker.io"',
          `[host."http://${mirror.host}"]`,
          '  capabilities = ["pull", "resolve"]',
          "",
        ].join("\n"),
      );
      const socket = `${dir}/containerd.sock`;
      await Deno.writeTextFile(
        `${dir}/config.toml`,
        [
          "version = 2",
          `root = "${dir}/root"`,
          `state = "${dir}/state"`,
          'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
          "[grpc]",
          `  address = "${socket}"`,
          "[ttrpc]",
          `  address = "${socket}.ttrpc"`,
          "",
        ].join("\n"),
      );
      const daemon = new Deno.Command("containerd", {
        args: ["--config", `${dir}/config.toml`, "--log-level", "error"],
        stdout: "null",
        stderr: "null",
      }).spawn();
      try {
        const ctr = (...args: string[]) => run("ctr", ["--address", socket, ...args]);
        const deadline = Date.now() + 20_000;
        while (await ctr("version").then(() => false, () => true)) {
          if (Date.now() > deadline) assert.fail("containerd did not start");
          await new Promise((r) => setTimeout(r, 100));
        }
        repos.clear();
        await ctr(
          "images",
          "pull",
          "--hosts-dir",
          `${dir}/hosts`,
          "--snapshotter",
          "native",
          "docker.io/library/multi:v1",
        );
        const listed = await ctr("images", "ls");
        const line = listed.split("\n").find((l) => l.startsWith("docker.io/library/multi:v1"));
        assert.ok(line?.includes(index.digest), listed);
        // containerd asks for library/multi with ?ns=docker.io; Berth serves its mirror.
        assert.ok(repos.has("docker.io/library/multi"), [...repos].join(", "));
      } finally {
        daemon.kill("SIGTERM");
        await daemon.status;
      }
    });
  } finally {
    await mirror.close();
    await dist.close();
    await layout.remove();
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
});

Deno.test("distribution's proxy: file makes Berth a pull-through cache; pushes are 405", async () => {
  const htpasswd = await htpasswdFile({ up: "upstream-pw" });
  const dist = await startDistribution({ htpasswd });
  const dir = await Deno.makeTempDir({ prefix: "berth-proxy-file-" });
  const layout = await Layout.create();
  const file = `${dir}/config.yml`;
  // A config.yml as distribution's documentation writes one for a pull-through cache.
  await Deno.writeTextFile(
    file,
    [
      "version: 0.1",
      "log:",
      "  fields:",
      "    service: registry",
      "storage:",
      "  cache:",
      "    blobdescriptor: inmemory",
      "  filesystem:",
      `    rootdirectory: ${dir}/registry`,
      "http:",
      "  addr: :5000",
      "  headers:",
      "    X-Content-Type-Options: [nosniff]",
      "proxy:",
      `  remoteurl: ${dist.url}`,
      "  username: up",
      "  password: upstream-pw",
      "  ttl: 168h",
      "",
    ].join("\n"),
  );
  const berth = await spawnBerth({
    REGISTRY_CONFIGURATION_PATH: file,
    REGISTRY_BERTH_DATADIR: dir,
  });
  try {
    const image = await layout.image([400_000]);
    await layout.tag(image, "v1");
    const push = ["copy", "--dest-tls-verify=false", "--preserve-digests"];
    await skopeo(
      ...push,
      "--dest-creds",
      CREDS,
      `oci:${layout.dir}:v1`,
      `docker://${dist.host}/team/app:v1`,
    );
    await skopeo(
      "copy",
      "--src-tls-verify=false",
      "--preserve-digests",
      `docker://${berth.host}/team/app:v1`,
      `oci:${dir}/out:v1`,
    );
    assert.deepEqual(await layoutBlobs(`${dir}/out`), await layout.closure(image.digest));
    const catalog = await (await fetch(`${berth.url}/v2/_catalog`)).json();
    assert.deepEqual(catalog.repositories, ["team/app"]);
    const refused = await trySkopeo(
      "copy",
      "--dest-tls-verify=false",
      `oci:${layout.dir}:v1`,
      `docker://${berth.host}/team/pushed:v1`,
    );
    assert.notEqual(refused.code, 0, "skopeo cannot push into a pull-through cache");
    await assertError(
      await fetch(`${berth.url}/v2/team/app/blobs/uploads/`, { method: "POST" }),
      405,
      "UNSUPPORTED",
    );
    await assertError(
      await fetch(`${berth.url}/v2/team/app/manifests/${image.digest}`, { method: "DELETE" }),
      405,
      "UNSUPPORTED",
    );
  } finally {
    await berth.kill();
    await dist.close();
    await layout.remove();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
