import assert from "node:assert/strict";
import { basic, htpasswdFile, startAuthRegistry } from "../helpers/auth.ts";
import { Layout } from "../helpers/images.ts";
import { skopeo } from "./skopeo.ts";

const POLICY = {
  rules: [
    { users: ["alice"], repositories: ["**"], actions: ["*"] },
    { users: ["ci"], repositories: ["**"], actions: ["pull"] },
    { anonymous: true, repositories: ["public/**"], actions: ["pull"] },
  ],
};

async function fails(...args: string[]): Promise<string> {
  try {
    await skopeo(...args);
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail(`skopeo ${args.join(" ")} should have failed`);
}

for (
  const [mode, extra] of [["htpasswd", {}], ["built-in token server", { builtin: {} }]] as const
) {
  Deno.test(`skopeo with credentials (${mode})`, async (t) => {
    const path = await htpasswdFile({ alice: "wonderland", ci: "read-only" });
    const reg = await startAuthRegistry({ htpasswd: { path }, policy: POLICY, ...extra });
    const layout = await Layout.create();
    const out = await Deno.makeTempDir({ prefix: "berth-auth-pull-" });
    const image = await layout.image([300_000, 1000]);
    await layout.tag(image, "v1");
    const dest = `docker://${reg.host}`;
    try {
      await t.step("skopeo login", async () => {
        const text = await skopeo(
          "login",
          "--tls-verify=false",
          "-u",
          "alice",
          "-p",
          "wonderland",
          reg.host,
        );
        assert.match(text, /Login Succeeded/);
        await fails("login", "--tls-verify=false", "-u", "alice", "-p", "wrong", reg.host);
        await skopeo("logout", reg.host);
      });
      await t.step("copy with --dest-creds and --src-creds", async () => {
        const creds = "alice:wonderland";
        for (const repo of ["team/app", "public/app"]) {
          await skopeo(
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            creds,
            `oci:${layout.dir}:v1`,
            `${dest}/${repo}:v1`,
          );
        }
        await skopeo(
          "copy",
          "--src-tls-verify=false",
          "--src-creds",
          creds,
          `${dest}/team/app:v1`,
          `oci:${out}/team:v1`,
        );
        const pulled = JSON.parse(await Deno.readTextFile(`${out}/team/index.json`));
        assert.equal(pulled.manifests[0].digest, image.digest);
      });
      await t.step(
        "a read-only account pulls and may not push; a wrong password fails",
        async () => {
          await skopeo(
            "copy",
            "--src-tls-verify=false",
            "--src-creds",
            "ci:read-only",
            `${dest}/team/app:v1`,
            `oci:${out}/ci:v1`,
          );
          const denied = await fails(
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            "ci:read-only",
            `oci:${layout.dir}:v1`,
            `${dest}/team/ci:v1`,
          );
          assert.match(denied, /denied|unauthorized|authentication required/i);
          const wrong = await fails(
            "copy",
            "--src-tls-verify=false",
            "--src-creds",
            "alice:wrong",
            `${dest}/team/app:v1`,
            `oci:${out}/wrong:v1`,
          );
          assert.match(wrong, /unauthorized|authentication required|invalid username\/password/i);
        },
      );
      await t.step(
        "without credentials: push fails, private pull fails, public pull works",
        async () => {
          await fails(
            "copy",
            "--dest-tls-verify=false",
            `oci:${layout.dir}:v1`,
            `${dest}/team/other:v1`,
          );
          await fails(
            "copy",
            "--src-tls-verify=false",
            `${dest}/team/app:v1`,
            `oci:${out}/denied:v1`,
          );
          await skopeo(
            "copy",
            "--src-tls-verify=false",
            `${dest}/public/app:v1`,
            `oci:${out}/public:v1`,
          );
          const pulled = JSON.parse(await Deno.readTextFile(`${out}/public/index.json`));
          assert.equal(pulled.manifests[0].digest, image.digest);
        },
      );
      await t.step("no password or token in the logs", () => {
        assert.ok(reg.logs.length > 10);
        if (mode !== "htpasswd") {
          assert.ok(reg.logs.some((l) => l.includes('"token issued"') && l.includes('"ci"')));
        }
        assert.ok(
          !reg.logs.some((l) =>
            l.includes("wonderland") || l.includes("read-only") ||
            /eyJ[A-Za-z0-9_-]{10,}/.test(l) ||
            l.includes(basic("alice", "wonderland").Authorization)
          ),
        );
      });
    } finally {
      await reg.close();
      await layout.remove();
      await Deno.remove(out, { recursive: true });
      await Deno.remove(path);
    }
  });
}
