/**
 * Layer verification: {@link verifyLayer} and its report types.
 *
 * @module
 */
export { verifyLayer } from "./verify-layer.js";
export type {
  VerifyCheck,
  VerifyCheckName,
  VerifyCheckStatus,
  VerifyDescriptor,
  VerifyFailure,
  VerifyOptions,
  VerifyReport,
} from "./types.js";
