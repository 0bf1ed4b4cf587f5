/**
 * @module
 * The schema 1 conversion capability: with `compatibility.schema1.convert`, the registry
 * facade is wrapped so that clients taking only schema 1 are served schema 2 images as
 * signed schema 1 manifests (`convert.ts`). The key file, when configured, is read at
 * start-up (a bad one stops it); the generated key is loaded from the metadata store on
 * the first conversion. Accepting schema 1 pushes is not this capability's business: the
 * registry's manifest formats decide that (`compatibility.schema1.enabled`).
 */
import type { CapabilityFactory } from "../capability.ts";
import type { JwsKey } from "../oci/manifests/jws.ts";
import { convertingRegistry } from "./convert.ts";
import { readKeyFile, sharedKey } from "./signing_key.ts";

/** Builds the conversion capability, or null unless `compatibility.schema1.convert`. */
export const schema1Conversion: CapabilityFactory = async ({ config, drivers }) => {
  const settings = config.compatibility?.schema1;
  if (!settings?.convert) return null;
  let key: Promise<JwsKey> | undefined = settings.signingkeyfile === undefined
    ? undefined
    : Promise.resolve(await readKeyFile(settings.signingkeyfile));
  const load = () => {
    key ??= sharedKey(drivers.metadata);
    // A store that failed once (an outage) is asked again on the next conversion.
    key.catch(() => key = undefined);
    return key;
  };
  return { name: "schema1-convert", wrap: (registry) => convertingRegistry(registry, load) };
};
