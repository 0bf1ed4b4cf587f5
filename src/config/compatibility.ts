/**
 * @module
 * The `compatibility:` section, distribution's home for Docker schema 1: whether schema 1
 * manifests may be pushed (`schema1.enabled`), the key the registry signs schema 1 manifests
 * with (`schema1.signingkeyfile`), and, Berth's own addition, whether schema 2 images are
 * served as schema 1 to clients that take nothing else (`schema1.convert`).
 */
import { type Section, words } from "./section.ts";

/** The validated `compatibility:` section; absent from the configuration when not written. */
export interface CompatibilityConfig {
  schema1: {
    /** Accept pushes of schema 1 manifests (signed and unsigned); default false. */
    enabled: boolean;
    /**
     * Serve a schema 2 or OCI image fetched by tag as a signed schema 1 manifest to a
     * client whose `Accept` lists only schema 1 types; default false.
     */
    convert: boolean;
    /**
     * A private key (PEM, or a JWK as libtrust writes `key.json`) to sign converted
     * manifests with; without it, a key generated once and kept in the metadata store.
     */
    signingkeyfile?: string;
  };
}

/** The `compatibility:` section. */
export const compatibility: Section<"compatibility", CompatibilityConfig | undefined> = {
  key: "compatibility",
  schema: {
    compatibility: { keys: words("schema1") },
    "compatibility.schema1": { keys: words("enabled convert signingkeyfile") },
  },
  read(r) {
    if (r.get("compatibility") === undefined) return undefined;
    const schema1: CompatibilityConfig["schema1"] = {
      enabled: r.bool("compatibility.schema1.enabled") ?? false,
      convert: r.bool("compatibility.schema1.convert") ?? false,
    };
    const keyFile = r.text("compatibility.schema1.signingkeyfile");
    if (keyFile !== undefined) schema1.signingkeyfile = keyFile;
    return { schema1 };
  },
};

/** Whether schema 1 pushes are accepted under `config` (its `compatibility` section). */
export function schema1Enabled(config: { compatibility?: CompatibilityConfig }): boolean {
  return config.compatibility?.schema1.enabled ?? false;
}
