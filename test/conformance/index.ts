/** Every conformance case, in the order runners execute them. */
import type { ConformanceCase } from "./harness.js";
import { layerCases } from "./layers.js";
import { sha256Cases } from "./sha256.js";
import { zstdCases } from "./zstd.js";

export const cases: ConformanceCase[] = [...sha256Cases, ...zstdCases, ...layerCases];
