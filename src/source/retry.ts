/**
 * The retry policy lives with the HTTP client (../net/retry.ts); re-exported here for the
 * modules that import it from the sources.
 *
 * @module
 */
export { DEFAULT_RETRY_POLICY, backoffDelay, isRetryable, retryPolicy, withRetry, type RetryPolicy } from "../net/retry.js";
