/**
 * The retry policy lives with the HTTP client (../net/retry.ts); re-exported here for the
 * modules that import it from the sources.
 *
 * @module
 */
export { backoffDelay, DEFAULT_RETRY_POLICY, isRetryable, type RetryPolicy, retryPolicy, withRetry } from "../net/retry.js";
