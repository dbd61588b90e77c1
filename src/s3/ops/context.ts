/**
 * What every S3 operation handler receives, and what it returns.
 *
 * @module
 */

import type { Principal } from "../../auth/mod.ts";
import type { MetaClient, MetaResults, StoreClient } from "../../channel/mod.ts";
import type { Endpoint } from "../endpoint.ts";
import type { AuthResult } from "../sigv4/mod.ts";

/** Services and request facts an operation needs. */
export interface OpContext<E extends Endpoint = Endpoint> {
  /** The parsed operation. */
  ep: E;
  /** The HTTP request (body unread). */
  req: Request;
  /** Decoded query parameters. */
  query: URLSearchParams;
  /** The verified signature. */
  auth: AuthResult;
  /** The signing key and what it may do. */
  principal: Principal;
  /** Whether the key holds the bypass-governance right (it still has to ask, per request). */
  mayBypassGovernance: boolean;
  /** The index. */
  meta: MetaClient;
  /** The chunk store. */
  store: StoreClient;
  /** The vault's region. */
  region: string;
  /** Request id, for error bodies. */
  requestId: string;
  /** Time the request arrived, ms since the epoch. */
  now: number;
  /** Store write sessions this request opened; released once the request is over. */
  writes: string[];
  /** What the bucket policy allows this write (set before dispatch; see quota.ts). */
  admission?: MetaResults["admitWrite"];
  /**
   * Checks, just before a write commits, that the signing key still stands as it did when the
   * request began: a key revoked (or changed) while its upload streamed must not land it.
   */
  stillAuthorized?(): Promise<void>;
}

/** What an operation returns; one place turns it into a Response. */
export interface OpResult {
  status: number;
  headers?: Record<string, string>;
  /** XML text, bytes, or a stream of the object. */
  body?: string | Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array> | null;
  /** Bytes received and sent, for metrics. */
  bytesIn?: number;
  bytesOut?: number;
  /** Sealed bytes the body newly added (after dedup and compression), for ransomware signals. */
  sealedBytesIn?: number;
  /** Versions removed and delete markers added, for ransomware signals. */
  deletes?: number;
}

/** Shorthand for a 200 with an XML body. */
export function xmlResult(xml: string, headers: Record<string, string> = {}): OpResult {
  return { status: 200, headers: { "content-type": "application/xml", ...headers }, body: xml };
}
