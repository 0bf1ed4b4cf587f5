/**
 * @module
 * Registries for UI tests: the {@linkcode seed} content pushed through an open registry,
 * then served by a registry with the same drivers and the configuration under test (an
 * `auth:` section with users alice and bob, deletes off ...).
 */
import { MemoryBlobDriver } from "../../drivers/blob/memory.ts";
import { MemoryMetadataStore } from "../../drivers/metadata/memory.ts";
import { htpasswdFile } from "./auth.ts";
import { type StartOptions, startRegistry, type TestRegistry } from "./registry.ts";
import { seed, type Seeded } from "./ui_fixtures.ts";

/** Passwords of the test users. */
export const PASSWORDS = { alice: "alice-secret", bob: "bob-secret" } as const;

/**
 * The test policy: alice (group platform) does everything in `team/**` and `public/**`
 * and may list the catalog; bob and anonymous visitors may pull `public/**`.
 */
export async function testAuth(): Promise<Record<string, unknown>> {
  return {
    htpasswd: { path: await htpasswdFile({ ...PASSWORDS }) },
    policy: {
      groups: { platform: ["alice"] },
      rules: [
        {
          groups: ["platform"],
          repositories: ["team/**", "public/**"],
          actions: ["pull", "push", "delete"],
        },
        { users: ["bob"], repositories: ["public/**"], actions: ["pull"] },
        { anonymous: true, repositories: ["public/**"], actions: ["pull"] },
      ],
      catalog: { groups: ["platform"] },
    },
  };
}

/** A registry serving the seeded content with `options` (its `doc` merged as usual). */
export async function seededRegistry(
  options: StartOptions = {},
): Promise<TestRegistry & { seeded: Seeded }> {
  const driver = new MemoryBlobDriver();
  const store = new MemoryMetadataStore();
  const open = await startRegistry({ driver, store });
  let seeded: Seeded;
  try {
    seeded = await seed(open.url);
  } finally {
    await open.close();
  }
  const reg = await startRegistry({ driver, store, ...options });
  return { ...reg, seeded };
}
