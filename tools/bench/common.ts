/**
 * Units and the progress log shared by the bench tools.
 *
 * @module
 */

import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";

/** 2^20 bytes. */
export const MIB = 1024 * 1024;
/** 10^6 bytes: the unit of every MB/s figure. */
export const MB = 1e6;

/** A row of the bench table. */
export interface Row {
  figure: string;
  value: string;
  target: string;
  ratio: string;
  pass: "pass" | "FAIL" | "";
  rgw: string;
}

/** Name and value pairs as aligned, indented lines. */
export function nameValueLines(pairs: string[][]): string {
  return pairs.map(([k, v]) => `  ${k.padEnd(62)} ${v.padStart(12)}`).join("\n");
}

/** Prints a progress line on stderr, stamped with seconds since start. */
export function log(line: string): void {
  console.error(`[bench ${(performance.now() / 1000).toFixed(1).padStart(6)} s] ${line}`);
}

/** Runs `count` tasks with at most `streams` in flight. */
export async function pool(
  streams: number,
  count: number,
  task: (i: number) => Promise<void>,
  deadline = Infinity,
): Promise<number> {
  let next = 0;
  let done = 0;
  async function lane() {
    while (next < count && performance.now() < deadline) {
      const i = next++;
      await task(i);
      done++;
    }
  }
  await Promise.all(Array.from({ length: Math.min(streams, count) }, lane));
  return done;
}

/** PutObject; returns the bytes sent. */
export async function putBytes(
  s3: S3Client,
  bucket: string,
  key: string,
  body: Uint8Array,
): Promise<number> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  return body.length;
}

/** GetObject, read to its end; returns the bytes read and throws unless they are `expect`. */
export async function getBytes(
  s3: S3Client,
  bucket: string,
  key: string,
  expect: number,
): Promise<number> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  let n = 0;
  for await (const c of r.Body as unknown as AsyncIterable<Uint8Array>) n += c.length;
  if (n !== expect) throw new Error(`GET ${key} returned ${n} bytes, expected ${expect}`);
  return n;
}
