/**
 * Round trips through the real AWS SDK for JavaScript v3: requests signed by
 * `@aws-sdk/client-s3` (captured by a fake request handler, never sent) and
 * URLs from `@aws-sdk/s3-request-presigner` must verify, and their bodies
 * (including aws-chunked with trailing checksums) must decode.
 */
import { deepStrictEqual as assertEquals } from "node:assert";
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Readable } from "node:stream";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import {
  type AuthResult,
  createChecksumVerifier,
  createSha256Verifier,
  decodeAwsChunked,
  parseChecksumHeaders,
  verifyRequest,
} from "./mod.ts";

const SECRET = "sdk/secret+key";

interface Captured {
  method: string;
  path: string;
  query: [string, string][];
  headers: Headers;
  body: Uint8Array;
}

async function bodyBytes(body: unknown): Promise<Uint8Array> {
  if (body === undefined || body === null) return new Uint8Array(0);
  if (typeof body === "string") return new TextEncoder().encode(body);
  if (body instanceof Uint8Array) return body;
  if (body instanceof ReadableStream) return new Uint8Array(await new Response(body).arrayBuffer());
  // Node Readable or other async iterable.
  const parts: Uint8Array[] = [];
  for await (const c of body as AsyncIterable<Uint8Array | string>) {
    parts.push(typeof c === "string" ? new TextEncoder().encode(c) : c);
  }
  return new Uint8Array(await new Blob(parts as BlobPart[]).arrayBuffer());
}

function client(captured: Captured[]): S3Client {
  return new S3Client({
    region: "us-east-1",
    endpoint: "http://localhost:9000",
    forcePathStyle: true,
    credentials: { accessKeyId: "SDKKEY", secretAccessKey: SECRET },
    // The default user agent reads os.release(), which needs --allow-sys.
    defaultUserAgentProvider: () => Promise.resolve([]),
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    requestHandler: {
      async handle(req: {
        method: string;
        path: string;
        query?: Record<string, string | string[] | null>;
        headers: Record<string, string>;
        body?: unknown;
      }) {
        const query: [string, string][] = [];
        for (const [k, v] of Object.entries(req.query ?? {})) {
          for (const one of Array.isArray(v) ? v : [v ?? ""]) query.push([k, one]);
        }
        captured.push({
          method: req.method,
          path: req.path,
          query,
          headers: new Headers(req.headers),
          body: await bodyBytes(req.body),
        });
        // Stop the SDK here: this test checks what it sent, not what it gets back.
        throw new Error("captured");
      },
    } as never,
  });
}

async function capture(send: (c: S3Client) => Promise<unknown>): Promise<Captured> {
  const captured: Captured[] = [];
  const c = client(captured);
  try {
    await send(c);
  } catch (e) {
    if (captured.length === 0) throw e;
  } finally {
    c.destroy();
  }
  return captured[0];
}

async function verify(req: Captured): Promise<AuthResult> {
  return await verifyRequest(req, {
    nowMs: Date.parse(
      (req.headers.get("x-amz-date") ?? "").replace(
        /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/,
        "$1-$2-$3T$4:$5:$6Z",
      ),
    ),
    lookupSecret: (k) => k === "SDKKEY" ? SECRET : undefined,
  });
}

/** Decodes and verifies the captured body the way a PutObject handler would. */
async function readBody(req: Captured, auth: AuthResult): Promise<Uint8Array> {
  let stream: ReadableStream<Uint8Array> = new Blob([req.body as BlobPart]).stream();
  let trailers: Promise<Map<string, string>> = Promise.resolve(new Map());
  if (auth.payload.kind === "sha256") {
    stream = stream.pipeThrough(createSha256Verifier(auth.payload.hex).stream);
  } else if (auth.payload.kind !== "unsigned") {
    const decodedLength = req.headers.get("x-amz-decoded-content-length");
    const d = decodeAwsChunked({
      ...auth,
      decodedLength: decodedLength === null ? undefined : Number(decodedLength),
    });
    stream = stream.pipeThrough(d.stream);
    trailers = d.trailers;
  }
  const checksum = parseChecksumHeaders(req.headers);
  if (checksum) {
    const expected = checksum.source === "header"
      ? checksum.expected
      : trailers.then((t) => t.get(checksum.header));
    stream = stream.pipeThrough(
      createChecksumVerifier({ algorithm: checksum.algorithm, expected }).stream,
    );
  }
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

const KEYS = ["plain.txt", "dir/a b+c.txt", "ünï/cödé €", "odd !'()*$&,;=@[]~", "x//y/../z", "%41"];

Deno.test("SDK round trip - GetObject and ListObjectsV2 headers verify", async () => {
  for (const Key of KEYS) {
    const req = await capture((c) =>
      c.send(new GetObjectCommand({ Bucket: "bkt", Key, Range: "bytes=0-9" }))
    );
    const auth = await verify(req);
    assertEquals(auth.accessKey, "SDKKEY");
  }
  const list = await capture((c) =>
    c.send(
      new ListObjectsV2Command({
        Bucket: "bkt",
        Prefix: "a b/ü+",
        Delimiter: "/",
        StartAfter: "x=y&z",
      }),
    )
  );
  await verify(list);
});

Deno.test("SDK round trip - PutObject bodies decode and verify", async () => {
  const text = "hello ".repeat(20000);
  const bodies: [string, () => unknown][] = [
    ["string", () => text],
    ["bytes", () => new TextEncoder().encode(text)],
    ["stream", () => Readable.from([new TextEncoder().encode(text)])],
  ];
  const modes = new Set<string>();
  for (const [name, make] of bodies) {
    for (const ChecksumAlgorithm of [undefined, "CRC32C", "CRC64NVME", "SHA256"] as const) {
      const req = await capture((c) =>
        c.send(
          new PutObjectCommand({
            Bucket: "bkt",
            Key: "dir/a b+c.txt",
            Body: make() as never,
            ContentLength: name === "stream" ? text.length : undefined,
            ChecksumAlgorithm,
            Metadata: { note: "  spaced   out " },
          }),
        )
      );
      const auth = await verify(req);
      modes.add(`${name}:${auth.payload.kind}`);
      const got = await readBody(req, auth);
      assertEquals(new TextDecoder().decode(got), text, `${name} ${ChecksumAlgorithm}`);
    }
  }
  // Streams go out as aws-chunked with a trailing checksum, so the decoder was exercised.
  assertEquals(modes.has("stream:streaming-unsigned-trailer"), true, [...modes].join(", "));
});

Deno.test("SDK round trip - presigned GET and PUT URLs verify", async () => {
  const c = new S3Client({
    region: "us-east-1",
    endpoint: "http://localhost:9000",
    forcePathStyle: true,
    credentials: { accessKeyId: "SDKKEY", secretAccessKey: SECRET },
    defaultUserAgentProvider: () => Promise.resolve([]),
  });
  const nowMs = Date.now();
  for (const Key of KEYS) {
    for (
      const cmd of [
        new GetObjectCommand({ Bucket: "bkt", Key, ResponseContentType: "text/plain; a=b" }),
        new PutObjectCommand({ Bucket: "bkt", Key }),
      ]
    ) {
      const href = await getSignedUrl(c, cmd as never, { expiresIn: 600 });
      // Take the path from the string: URL parsing would resolve "..", which S3 keeps.
      const [, host, path, search] = /^http:\/\/([^/]+)([^?]*)\?(.*)$/.exec(href)!;
      const auth = await verifyRequest({
        method: cmd instanceof GetObjectCommand ? "GET" : "PUT",
        path,
        query: [...new URLSearchParams(search)],
        headers: new Headers({ host }),
      }, { nowMs, lookupSecret: (k) => k === "SDKKEY" ? SECRET : undefined });
      assertEquals(auth.presigned, true);
    }
  }
  c.destroy();
});
