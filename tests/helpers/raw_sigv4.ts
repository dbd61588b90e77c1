/**
 * An independent SigV4 signer written from the AWS documentation (not the vault's code, not the
 * SDK's): canonical request with repeated headers joined by ",", presigned URLs, aws-chunked
 * bodies with chunk and trailer signatures; and a raw-socket sender that puts exactly the given
 * bytes on the wire. A second opinion on src/s3/sigv4 for the wire tests.
 *
 * @module
 */
import { createHash, createHmac } from "node:crypto";

export const sha256 = (d: string | Uint8Array) => createHash("sha256").update(d).digest("hex");
const hmac = (k: string | Uint8Array, d: string) => createHmac("sha256", k).update(d).digest();
export const EMPTY = sha256("");

export function awsEncode(s: string, slash = true): string {
  let out = "";
  for (const b of new TextEncoder().encode(s)) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-._~]/.test(c) || (!slash && c === "/")) out += c;
    else out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

export function amzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

export interface RawSign {
  method: string;
  /** Raw path as sent on the wire. */
  path: string;
  /** Canonical URI to sign; defaults to S3 rule: each segment decoded then AWS-encoded. */
  canonicalUri?: string;
  /** Decoded query pairs; sent encoded with awsEncode unless rawQuery given. */
  query?: [string, string][];
  rawQuery?: string;
  /** Headers in send order; repeated names allowed. host is added unless present. */
  headers?: [string, string][];
  payloadHash?: string;
  /** Sign x-amz-content-sha256 header (default true). */
  sendContentSha?: boolean;
  nowMs?: number;
  date?: string;
  scopeDate?: string;
  region?: string;
  service?: string;
  terminator?: string;
  accessKey: string;
  secretKey: string;
  /** Override signed header names (lowercase); default: all sent headers. */
  signedHeaders?: string[];
  presign?: { expires: number | string };
  /** Use Date header instead of x-amz-date (value in RFC 1123). */
  useDateHeader?: boolean;
}

export function canonicalUriOf(path: string): string {
  return path.split("/").map((seg) => awsEncode(decodeLoose(seg))).join("/");
}
function decodeLoose(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export interface Signed {
  target: string;
  headers: [string, string][];
  signature: string;
  signingKey: Buffer;
  scope: string;
  date: string;
  canonical: string;
}

export function signRaw(r: RawSign & { host: string }): Signed {
  const now = r.nowMs ?? Date.now();
  const date = r.date ?? amzDate(now);
  const scopeDate = r.scopeDate ?? date.slice(0, 8);
  const region = r.region ?? "us-east-1";
  const service = r.service ?? "s3";
  const scope = `${scopeDate}/${region}/${service}/${r.terminator ?? "aws4_request"}`;
  const headers: [string, string][] = [...(r.headers ?? [])];
  if (!headers.some(([n]) => n.toLowerCase() === "host")) headers.unshift(["host", r.host]);
  const payloadHash = r.payloadHash ?? (r.presign ? "UNSIGNED-PAYLOAD" : EMPTY);
  const query: [string, string][] = [...(r.query ?? [])];
  if (!r.presign) {
    if (r.sendContentSha !== false) headers.push(["x-amz-content-sha256", payloadHash]);
    if (r.useDateHeader) headers.push(["date", new Date(now).toUTCString()]);
    else headers.push(["x-amz-date", date]);
  }
  const names = [...new Set(headers.map(([n]) => n.toLowerCase()))].sort();
  const signedNames = r.signedHeaders ?? names;
  if (r.presign) {
    query.push(
      ["X-Amz-Algorithm", "AWS4-HMAC-SHA256"],
      ["X-Amz-Credential", `${r.accessKey}/${scope}`],
      ["X-Amz-Date", date],
      ["X-Amz-Expires", String(r.presign.expires)],
      ["X-Amz-SignedHeaders", signedNames.join(";")],
    );
  }
  const canonHeaders = signedNames.map((n) => {
    const vals = headers.filter(([h]) => h.toLowerCase() === n).map(([, v]) =>
      v.trim().replace(/\s+/g, " ")
    );
    return `${n}:${vals.join(",")}\n`;
  }).join("");
  const cq = query.map(([k, v]) => [awsEncode(k), awsEncode(v)])
    .sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0)
    .map(([k, v]) => `${k}=${v}`).join("&");
  const canonical = [
    r.method,
    r.canonicalUri ?? canonicalUriOf(r.path),
    cq,
    canonHeaders,
    signedNames.join(";"),
    payloadHash,
  ].join("\n");
  const sts = `AWS4-HMAC-SHA256\n${date}\n${scope}\n${sha256(canonical)}`;
  const kDate = hmac("AWS4" + r.secretKey, scopeDate);
  const key = hmac(hmac(hmac(kDate, region), service), r.terminator ?? "aws4_request");
  const signature = createHmac("sha256", key).update(sts).digest("hex");
  let qs = r.rawQuery ?? query.map(([k, v]) => `${awsEncode(k)}=${awsEncode(v)}`).join("&");
  if (r.presign) qs += `&X-Amz-Signature=${signature}`;
  else {
    headers.push([
      "authorization",
      `AWS4-HMAC-SHA256 Credential=${r.accessKey}/${scope}, SignedHeaders=${
        signedNames.join(";")
      }, Signature=${signature}`,
    ]);
  }
  return {
    target: r.path + (qs ? `?${qs}` : ""),
    headers,
    signature,
    signingKey: key,
    scope,
    date,
    canonical,
  };
}

/** Sends exact bytes; returns status, headers text and body text. */
export async function sendRaw(
  port: number,
  method: string,
  target: string,
  headers: [string, string][],
  body?: Uint8Array | string,
  opts: { timeoutMs?: number } = {},
): Promise<{ status: number; text: string; body: string }> {
  const b = typeof body === "string" ? new TextEncoder().encode(body) : body;
  const hs = [...headers];
  if (b && !hs.some(([n]) => /^(content-length|transfer-encoding)$/i.test(n))) {
    hs.push(["content-length", String(b.length)]);
  }
  hs.push(["connection", "close"]);
  const head = `${method} ${target} HTTP/1.1\r\n` + hs.map(([k, v]) => `${k}: ${v}\r\n`).join("") +
    "\r\n";
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let text = "";
  try {
    await conn.write(new TextEncoder().encode(head));
    if (b && b.length) await conn.write(b);
    const buf = new Uint8Array(65536);
    const deadline = Date.now() + (opts.timeoutMs ?? 5000);
    const dec = new TextDecoder();
    while (Date.now() < deadline) {
      const n = await Promise.race([
        conn.read(buf),
        new Promise<"t">((res) => setTimeout(() => res("t"), Math.max(1, deadline - Date.now()))),
      ]);
      if (n === "t" || n === null) break;
      text += dec.decode(buf.subarray(0, n), { stream: true });
    }
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  const i = text.indexOf("\r\n\r\n");
  return { status: m ? Number(m[1]) : 0, text, body: i >= 0 ? text.slice(i + 4) : "" };
}

export function codeOf(body: string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
}

/** aws-chunked body with chunk signatures (and optional signed trailer). */
export function chunkedBody(
  s: { signingKey: Buffer | Uint8Array; date: string; scope: string; seed: string },
  chunks: Uint8Array[],
  opts: {
    trailers?: [string, string][];
    signTrailer?: boolean;
    unsigned?: boolean;
    tamper?: (i: number, sig: string) => string;
  } = {},
): { body: Uint8Array; sigs: string[] } {
  const parts: Uint8Array[] = [];
  const enc = new TextEncoder();
  let prev = s.seed;
  const sigs: string[] = [];
  const all = [...chunks, new Uint8Array(0)];
  all.forEach((c, i) => {
    if (opts.unsigned) {
      parts.push(enc.encode(`${c.length.toString(16)}\r\n`));
    } else {
      const sts = `AWS4-HMAC-SHA256-PAYLOAD\n${s.date}\n${s.scope}\n${prev}\n${EMPTY}\n${
        sha256(c)
      }`;
      let sig = createHmac("sha256", s.signingKey).update(sts).digest("hex");
      prev = sig;
      if (opts.tamper) sig = opts.tamper(i, sig);
      sigs.push(sig);
      parts.push(enc.encode(`${c.length.toString(16)};chunk-signature=${sig}\r\n`));
    }
    parts.push(c);
    if (c.length > 0) parts.push(enc.encode("\r\n"));
  });
  if (opts.trailers) {
    let canon = "";
    for (const [k, v] of opts.trailers) {
      parts.push(enc.encode(`${k}:${v}\r\n`));
      canon += `${k}:${v}\n`;
    }
    if (opts.signTrailer) {
      const sts = `AWS4-HMAC-SHA256-TRAILER\n${s.date}\n${s.scope}\n${prev}\n${sha256(canon)}`;
      const sig = createHmac("sha256", s.signingKey).update(sts).digest("hex");
      parts.push(enc.encode(`x-amz-trailer-signature:${sig}\r\n`));
    }
    parts.push(enc.encode("\r\n"));
  } else {
    parts.push(enc.encode("\r\n"));
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const body = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    body.set(p, o);
    o += p.length;
  }
  return { body, sigs };
}
