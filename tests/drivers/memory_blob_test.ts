/**
 * @module
 * The in-memory blob driver runs the shared contract; it has nothing of its own to test.
 */
import { MemoryBlobDriver } from "../../drivers/blob/memory.ts";
import { blobDriverSuite } from "./blob_driver_suite.ts";

blobDriverSuite("memory", () => Promise.resolve(new MemoryBlobDriver()));
