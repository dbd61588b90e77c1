import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { CONSOLE_CSP, consoleHtml, consoleResponse, wantsConsole } from "./page.ts";

function inline(html: string, tag: "script" | "style"): string[] {
  return [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, "g"))].map((m) => m[1]);
}

function cspSource(directive: string): string[] {
  const part = CONSOLE_CSP.split("; ").find((p) => p.startsWith(`${directive} `)) ?? "";
  return part.split(" ").slice(1);
}

const sha256 = (s: string) => `'sha256-${createHash("sha256").update(s).digest("base64")}'`;

Deno.test("consoleHtml - the CSP allows exactly the page's one inline script and style", () => {
  const html = consoleHtml("eu-west-1");
  const scripts = inline(html, "script");
  const styles = inline(html, "style");
  assert.equal(scripts.length, 1);
  assert.equal(styles.length, 1);
  assert.deepEqual(cspSource("script-src"), [sha256(scripts[0])]);
  assert.deepEqual(cspSource("style-src"), [sha256(styles[0])]);
  assert.deepEqual(cspSource("connect-src"), ["'self'"]);
  assert.ok(CONSOLE_CSP.startsWith("default-src 'none'"));
});

Deno.test("consoleHtml - nothing is loaded from elsewhere and the script parses", () => {
  const html = consoleHtml("us-east-1");
  assert.doesNotMatch(html, /\b(src|href|action)\s*=\s*["']?(https?:)?\/\//i);
  assert.doesNotMatch(html, /@import|url\(/i);
  assert.doesNotMatch(html, /<script[^>]*\ssrc=|<link[^>]*stylesheet/i);
  // Parsing (not running) the script catches a syntax error before any browser does.
  new Function(inline(html, "script")[0]);
  for (const fn of ["signRequest", "s3Path", "sigv4Query", "hmacSha256"]) {
    assert.match(html, new RegExp(`function ${fn}\\(`), `${fn} is not embedded`);
  }
});

Deno.test("consoleHtml - the region is escaped into an attribute", () => {
  assert.match(consoleHtml('x"><b'), /data-region="x&quot;>&lt;b"/);
});

Deno.test("wantsConsole - only a browser's unsigned GET / without a query", () => {
  const html = "text/html,application/xhtml+xml,*/*;q=0.8";
  const cases: Array<[string, RequestInit & { url?: string }, boolean]> = [
    ["browser navigation", { headers: { accept: html } }, true],
    ["no Accept", {}, false],
    ["Accept */* (curl, SDKs)", { headers: { accept: "*/*" } }, false],
    ["Accept application/xml", { headers: { accept: "application/xml" } }, false],
    ["signed", { headers: { accept: html, authorization: "AWS4-HMAC-SHA256 x" } }, false],
    ["presigned", { headers: { accept: html }, url: "/?X-Amz-Signature=ab" }, false],
    ["any query", { headers: { accept: html }, url: "/?versions" }, false],
    ["a bucket", { headers: { accept: html }, url: "/bucket" }, false],
    ["HEAD", { method: "HEAD", headers: { accept: html } }, false],
    ["POST", { method: "POST", headers: { accept: html } }, false],
  ];
  for (const [what, init, want] of cases) {
    const req = new Request(`http://127.0.0.1:9000${init.url ?? "/"}`, init);
    assert.equal(wantsConsole(req), want, what);
  }
});

Deno.test("consoleResponse - HTML that is not cached, framed or sniffed", async () => {
  const res = consoleResponse("us-east-1");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
  assert.equal(res.headers.get("content-security-policy"), CONSOLE_CSP);
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.equal(res.headers.get("x-frame-options"), "DENY");
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  assert.match(await res.text(), /<title>Amber vault console<\/title>/);
});
