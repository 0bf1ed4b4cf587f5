import { MemoryBlobDriver } from "../../drivers/blob/memory.ts";
import { blobDriverSuite } from "./blob_driver_suite.ts";

blobDriverSuite("memory", () => Promise.resolve(new MemoryBlobDriver()));
