/**
 * The registry client (OCI distribution API): references, authentication (Basic and Bearer
 * tokens), pulling and pushing manifests and blobs. Runtime-neutral (`fetch` only).
 *
 * @module
 */
export { checkRepository, checkTag, formatReference, type ImageReference, parseReference } from "./reference.js";
export { type Challenge, parseWwwAuthenticate } from "./www-authenticate.js";
export { type AuthFileMatch, findAuth } from "./auth-file.js";
export { basicAuthorization, type RegistryCredentials, TokenCache } from "./auth.js";
export { type RegistryRequest, RegistryTransport, type RegistryTransportOptions } from "./transport.js";
export {
  openReference,
  type PulledImage,
  type PulledManifest,
  type PushLayer,
  RegistryClient,
  type RegistryClientOptions,
} from "./client.js";
export { type CopyOptions, pullToLayout, pushFromLayout } from "./copy.js";
export type { PushBlobOptions, PushBlobResult } from "./upload.js";
export { RegistryBlobSource } from "../source/registry.js";
