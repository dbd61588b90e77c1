/**
 * Who may call the vault: access keys and their secrets.
 *
 * @module
 */

export * from "./boot.ts";
export { CREDENTIALS_FILE, generateSecretKey } from "./credentials.ts";
export type { Credential, SecretSealer } from "./credentials.ts";
export {
  ACCESS_KEY_PATTERN,
  ACCESS_LEVELS,
  addressInCidr,
  authorize,
  GrantError,
  grantRefusal,
  levelOn,
  mayAdminister,
  mayRemoveData,
  OPERATION_ACCESS,
  parseBucketName,
  parseCidr,
  parseLevel,
  parseLevelChanges,
  parseLevelWords,
  ROOT_GRANTS,
  SECRET_KEY_PATTERN,
} from "./access.ts";
export type {
  AccessDecision,
  AccessLevel,
  AccessOperation,
  AccessTarget,
  Grants,
  Principal,
  RequestFacts,
} from "./access.ts";
export { KEYS_USAGE, parseKeysCommand, runKeysCommand } from "./keys_cli.ts";
export type { KeysRequest } from "./keys_cli.ts";
