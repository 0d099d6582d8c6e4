/**
 * The registry client (OCI distribution API): references, authentication (Basic and Bearer
 * tokens), pulling and pushing manifests and blobs. Runtime-neutral (`fetch` only).
 *
 * @module
 */
export { parseReference, formatReference, checkRepository, checkTag, type ImageReference } from "./reference.js";
export { parseWwwAuthenticate, type Challenge } from "./www-authenticate.js";
export { findAuth, type AuthFileMatch } from "./auth-file.js";
export { TokenCache, basicAuthorization, type RegistryCredentials } from "./auth.js";
export { RegistryTransport, type RegistryRequest, type RegistryTransportOptions } from "./transport.js";
export { RegistryClient, openReference, type PulledImage, type PulledManifest, type PushLayer, type RegistryClientOptions } from "./client.js";
export { pullToLayout, pushFromLayout, type CopyOptions } from "./copy.js";
export type { PushBlobOptions, PushBlobResult } from "./upload.js";
export { RegistryBlobSource } from "../source/registry.js";
