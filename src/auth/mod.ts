/**
 * Who may call the vault: access keys and their secrets.
 *
 * @module
 */

export { CREDENTIALS_FILE, ensureRootCredential } from "./credentials.ts";
export type { Credential, SecretSealer } from "./credentials.ts";
