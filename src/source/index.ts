/**
 * Runtime-neutral blob sources. The Node file source lives in `./node-file.js` (imports `node:`
 * built-ins) and is re-exported only by the Node/Deno runtime entries.
 *
 * @module
 */
export {
  type BlobSource,
  type ByteRange,
  checkRangeArgs,
  checkRangeInside,
  newStats,
  readRanges,
  readTail,
  type SourceStats,
} from "./blob-source.js";
export { MemorySource, memorySource } from "./memory.js";
export { HttpSource, httpSource, type HttpSourceOptions, parseContentRange } from "./http.js";
export { type CoalescedSpan, type CoalesceOptions, coalesceRanges, splitSpans } from "./coalesce.js";
export { byterangesBoundary, type ContentRange, type MultipartLimits, type RangePart, readByteranges } from "./multipart.js";
export { backoffDelay, DEFAULT_RETRY_POLICY, isRetryable, type RetryPolicy, retryPolicy, withRetry } from "./retry.js";
