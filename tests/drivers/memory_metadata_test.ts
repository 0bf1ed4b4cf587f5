import { MemoryMetadataStore } from "../../drivers/metadata/memory.ts";
import { metadataStoreSuite } from "./metadata_store_suite.ts";

metadataStoreSuite("memory", () => {
  const store = new MemoryMetadataStore();
  return Promise.resolve({ store, cleanup: () => store.close() });
});
