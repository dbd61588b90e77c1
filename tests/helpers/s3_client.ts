/**
 * An AWS SDK v3 S3 client pointed at a test vault (path-style, current SDK
 * defaults: CRC32 checksums and aws-chunked bodies with trailers).
 *
 * @module
 */

import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import type { TestVault } from "./vault.ts";

/** Creates an SDK client for `vault` (or any endpoint with those credentials). */
export function s3For(
  vault: Pick<TestVault, "endpoint" | "region" | "accessKey" | "secretKey">,
  extra: Partial<S3ClientConfig> = {},
): S3Client {
  return new S3Client({
    endpoint: vault.endpoint,
    region: vault.region,
    forcePathStyle: true,
    credentials: { accessKeyId: vault.accessKey, secretAccessKey: vault.secretKey },
    maxAttempts: 1,
    ...extra,
  });
}
