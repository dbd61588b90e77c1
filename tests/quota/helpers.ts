/**
 * Shared steps of the bucket-policy suites: setting a policy through the
 * admin endpoint, reading metrics, and waiting.
 *
 * @module
 */

import type { S3Client } from "@aws-sdk/client-s3";
import { assertEquals, signedFetch } from "../helpers/assert_s3.ts";
import type { TestVault } from "../helpers/vault.ts";

/** `PUT /admin/buckets/{bucket}/policy`; asserts 200 and returns the answer. */
export async function setPolicy(
  vault: TestVault,
  s3: S3Client,
  bucket: string,
  policy: unknown,
): Promise<{ policy: Record<string, unknown>; usage: Record<string, number> }> {
  const res = await policyRequest(vault, s3, bucket, "PUT", policy);
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body as { policy: Record<string, unknown>; usage: Record<string, number> };
}

/** Sends a signed policy request; returns status and JSON body. */
export async function policyRequest(
  vault: TestVault,
  s3: S3Client,
  bucket: string,
  method: "GET" | "PUT",
  policy?: unknown,
): Promise<{
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string } };
}> {
  const res = await signedFetch(vault, s3, {
    method,
    path: `/admin/buckets/${bucket}/policy`,
    body: policy === undefined ? undefined : JSON.stringify(policy),
  });
  return { status: res.status, body: await res.json() };
}

/** The bucket's usage, from `GET /admin/buckets/{bucket}/policy`. */
export async function usage(
  vault: TestVault,
  s3: S3Client,
  bucket: string,
): Promise<{ objects: number; logicalBytes: number; storedBytes: number; uploadBytes: number }> {
  const res = await policyRequest(vault, s3, bucket, "GET");
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body.usage as {
    objects: number;
    logicalBytes: number;
    storedBytes: number;
    uploadBytes: number;
  };
}

/** The value of one metric line (`name{labels}` exactly as printed), or undefined. */
export async function metric(vault: TestVault, series: string): Promise<number | undefined> {
  const text = await (await fetch(`${vault.endpoint}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Sleeps. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
