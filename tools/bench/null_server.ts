/**
 * A null S3 endpoint for the bench's client ceiling (`ceiling.ts`): it
 * drains every upload and answers 200, and answers a GET of `/<bucket>/<n>`
 * with `n` bytes from memory. No signature check, no hashing, nothing
 * stored, so what a client achieves against it is the client's and HTTP's
 * own limit on this machine.
 *
 * Run as `deno run --allow-net=127.0.0.1 tools/bench/null_server.ts`; it
 * prints its port on the first line of stdout.
 *
 * @module
 */

/** Bytes of a GET answer handed to the server at a time. */
const STREAM_PIECE_BYTES = 64 * 1024;
/** Largest GET served. */
const MAX_GET_BYTES = 64 * 1024 * 1024;

// Random once, then repeated: the content does not matter, only that it is not all zeros.
const body = new Uint8Array(MAX_GET_BYTES);
const tile = crypto.getRandomValues(new Uint8Array(65536));
for (let at = 0; at < body.length; at += tile.length) body.set(tile, at);

const server = Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => console.log(port),
}, async (req) => {
  if (req.method === "PUT") {
    if (req.body) { for await (const _ of req.body) { /* drained */ } }
    return new Response(null, { headers: { etag: '"00000000000000000000000000000000"' } });
  }
  if (req.method === "GET") {
    const n = Number(new URL(req.url).pathname.split("/").pop());
    if (!Number.isInteger(n) || n < 0 || n > MAX_GET_BYTES) {
      return new Response(null, { status: 400 });
    }
    // Streamed in 64 KiB pieces as the vault streams chunks: one 64 MiB write measured the SDK
    // client at 160 MB/s, below what it took from the vault itself (about 230).
    let at = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= n) return controller.close();
        const end = Math.min(n, at + STREAM_PIECE_BYTES);
        controller.enqueue(body.subarray(at, end));
        at = end;
      },
    }, { highWaterMark: 0 });
    return new Response(stream, {
      headers: { "content-type": "application/octet-stream", "content-length": String(n) },
    });
  }
  return new Response(null, { status: 405 });
});
await server.finished;
