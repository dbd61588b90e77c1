/**
 * The router's view of the access keys: the root credential (configured,
 * owner of everything with the bypass right) and the managed keys kept in
 * the index with their secrets sealed. SigV4 needs a secret in the clear, so
 * a managed key is fetched from the index on first use, its secret opened by
 * the store (which alone holds the secrets key), and the result cached here.
 *
 * Every change to a managed key goes through this router's admin API, which
 * calls {@linkcode KeyDirectory.invalidate} once the index has committed it,
 * so the next request sees the change: a revoked key stops working at once.
 *
 * @module
 */

import { type Credential, type Principal, ROOT_GRANTS } from "../auth/mod.ts";
import type { MetaClient, StoreClient } from "../channel/mod.ts";
import { S3Error } from "./errors.ts";
import { type AuthResult, MAX_SKEW_MS, parseAmzDate } from "./sigv4/mod.ts";

/** A key the router can verify signatures for, with what it may do. */
export interface KnownKey {
  secretKey: string;
  principal: Principal;
  /** When a managed key was created, ms: a request signed well before is not its own. */
  created?: number;
}

/**
 * Refuses a request signed well before its key was created: a key id revoked and added again (a
 * provisioning script run twice) must not bring back what was signed with the one before,
 * presigned URLs above all; clocks may differ by the skew.
 */
export function refuseSignedBeforeCreated(key: KnownKey, auth: AuthResult, now: number): void {
  const signedAt = parseAmzDate(auth.amzDate) ?? now;
  if (key.created !== undefined && signedAt < key.created - MAX_SKEW_MS) {
    throw new S3Error("AccessDenied", {
      message: "The request was signed before this access key was created",
    });
  }
}

/**
 * Most keys cached at once (unknown ids included, so probing random ids
 * cannot grow memory without bound); the cache starts over when full.
 */
const KEY_CACHE_MAX_ENTRIES = 10_000;

/** Looks up access keys for signature checks and authorization, with a cache. */
export class KeyDirectory {
  #root: KnownKey;
  #meta: MetaClient;
  #store: StoreClient;
  #cache = new Map<string, Promise<KnownKey | undefined>>();

  /**
   * @param opts The root credential and the clients of the index and the store.
   */
  constructor(opts: { root: Credential; meta: MetaClient; store: StoreClient }) {
    this.#root = {
      secretKey: opts.root.secretKey,
      principal: { accessKey: opts.root.accessKey, ...structuredClone(ROOT_GRANTS) },
    };
    this.#meta = opts.meta;
    this.#store = opts.store;
  }

  /** Whether `accessKey` is the root credential, which is configured rather than managed. */
  isRoot(accessKey: string): boolean {
    return accessKey === this.#root.principal.accessKey;
  }

  /**
   * Finds a key.
   *
   * @param accessKey The access key id from the request.
   * @returns The key, or undefined when no such key exists.
   */
  lookup(accessKey: string): Promise<KnownKey | undefined> {
    if (this.isRoot(accessKey)) return Promise.resolve(this.#root);
    let found = this.#cache.get(accessKey);
    if (!found) {
      if (this.#cache.size >= KEY_CACHE_MAX_ENTRIES) this.#cache.clear();
      found = this.#fetch(accessKey);
      this.#cache.set(accessKey, found);
      // A failed lookup (index busy, channel closed) is not remembered.
      found.catch(() => {
        if (this.#cache.get(accessKey) === found) this.#cache.delete(accessKey);
      });
    }
    return found;
  }

  /** Forgets what is cached about `accessKey`; the next lookup asks the index. */
  invalidate(accessKey: string): void {
    this.#cache.delete(accessKey);
  }

  async #fetch(accessKey: string): Promise<KnownKey | undefined> {
    const { key } = await this.#meta.call({ type: "getAccessKey", accessKey });
    if (!key) return undefined;
    const { plaintext } = await this.#store.call({
      type: "openSecret",
      sealed: key.sealedSecret,
      context: accessKey,
    });
    return {
      secretKey: plaintext,
      created: key.created,
      principal: {
        accessKey,
        level: key.level,
        buckets: key.buckets,
        bypassGovernance: key.bypassGovernance,
        allowFrom: key.allowFrom,
        uploadAnytime: key.uploadAnytime,
        uploadWindows: key.uploadWindows,
      },
    };
  }
}
