/**
 * The web console page: one HTML document with its style and script inline
 * (nothing fetched from elsewhere, so it works air-gapped and from the router
 * Worker, which has no file access), served under a Content-Security-Policy
 * that allows exactly these inline blocks and same-origin requests.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { CONSOLE_APP_JS } from "./app_js.ts";
import { SIGNER_FUNCTIONS } from "./signer.ts";

/** The console's style sheet. */
export const CONSOLE_CSS = `
:root { --fg:#1d232a; --dim:#5f6b76; --line:#d5dbe1; --bg:#f6f7f9; --accent:#b4570a;
  --good:#1f7a3a; --bad:#b3261e; --warn:#8a6100; --marker:#6b3fa0; }
* { box-sizing: border-box; }
[hidden] { display:none !important; }
body { margin:0; font:14px/1.45 system-ui, sans-serif; color:var(--fg); background:var(--bg); }
header { display:flex; gap:1em; align-items:center; padding:.6em 1.2em; background:#fff;
  border-bottom:3px solid var(--accent); }
header h1 { font-size:1.15em; margin:0; color:var(--accent); }
header .spacer { flex:1; }
main { padding:1em 1.2em; display:grid; gap:1em; }
section.card, section.panel { background:#fff; border:1px solid var(--line); border-radius:6px;
  padding:.8em 1em; }
#ops { display:grid; grid-template-columns:repeat(auto-fill, minmax(330px, 1fr)); gap:.8em; }
#ops h2, #panel-usage, #panel-audit { grid-column:1 / -1; margin:.2em 0; }
h2 { font-size:1.1em; margin:.1em 0 .5em; } h3 { font-size:1em; margin:0 0 .4em; }
h4 { margin:.6em 0 .2em; font-size:.95em; }
table { border-collapse:collapse; width:100%; }
table.grid th, table.grid td { border-bottom:1px solid var(--line); padding:.3em .5em;
  text-align:left; vertical-align:top; }
table.grid th { background:#eef1f4; font-weight:600; }
table.kv th { text-align:left; font-weight:normal; color:var(--dim); padding:.1em 1em .1em 0; }
table.kv td { white-space:nowrap; }
tr.marker { background:#f4eefb; } tr.gone { opacity:.45; text-decoration:line-through; }
.badge { display:inline-block; padding:0 .45em; border-radius:3px; font-size:.85em;
  font-weight:600; border:1px solid currentColor; margin-right:.3em; }
.good { color:var(--good); } .bad { color:var(--bad); } .warn { color:var(--warn); }
.badge.marker { color:var(--marker); } .badge.latest { color:var(--dim); }
.badge.compliance { color:#fff; background:var(--bad); border-color:var(--bad); }
.badge.governance { color:#fff; background:var(--warn); border-color:var(--warn); }
.badge.hold { color:#fff; background:var(--marker); border-color:var(--marker); }
.dim { color:var(--dim); } .small { font-size:.82em; }
.na { color:var(--dim); font-style:italic; }
.marker-note { background:#f4eefb; border-left:4px solid var(--marker); padding:.5em .8em;
  margin:.5em 0; }
.outcome:empty { display:none; }
.outcome { margin-top:.3em; padding:.25em .5em; border-radius:3px; font-size:.9em; }
.outcome.done { background:#e6f4ea; color:var(--good); }
.outcome.refused { background:#fdecea; color:var(--bad); font-weight:600; }
.outcome.failed { background:#fff4e5; color:var(--warn); }
button { font:inherit; padding:.15em .6em; margin:.1em .2em .1em 0; cursor:pointer; }
button.link { border:0; background:none; color:#0b57d0; padding:0; text-decoration:underline; }
button.danger { color:var(--bad); }
input, select { font:inherit; padding:.2em .4em; }
form.row { display:flex; gap:.5em; align-items:center; flex-wrap:wrap; margin:.5em 0; }
#signin { max-width:420px; margin:3em auto; }
#signin label { display:block; margin:.6em 0 .2em; }
#signin input { width:100%; }
#signin-error { color:var(--bad); font-weight:600; margin-top:.6em; }
.inline-form { margin:.3em 0; padding:.3em; background:var(--bg); }
.folders button { margin-right:.8em; }
pre { white-space:pre-wrap; font-size:.85em; }
code { font-size:.92em; }
`;

/** The script: the signer's functions (by their source), then the console app. */
export const CONSOLE_JS: string = SIGNER_FUNCTIONS.map((f) => f.toString()).join("\n") + "\n" +
  CONSOLE_APP_JS;

function cspHash(text: string): string {
  return `'sha256-${createHash("sha256").update(text).digest("base64")}'`;
}

/** The Content-Security-Policy of the console page: its own inline blocks, same-origin fetches. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  `script-src ${cspHash(CONSOLE_JS)}`,
  `style-src ${cspHash(CONSOLE_CSS)}`,
  "connect-src 'self'",
  "img-src data:",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

function escapeAttr(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
}

/**
 * The console page for a vault.
 *
 * @param region The vault's region, prefilled in the sign-in form.
 * @returns The HTML document.
 */
export function consoleHtml(region: string): string {
  return `<!doctype html>
<html lang="en" data-region="${escapeAttr(region)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Amber vault console</title>
<link rel="icon" href="data:,">
<style>${CONSOLE_CSS}</style>
</head>
<body>
<header>
  <h1>Amber vault console</h1>
  <span id="health-pill" class="badge">vault …</span>
  <span class="spacer"></span>
  <span id="whoami" class="dim"></span>
  <button id="signout" hidden>Sign out</button>
</header>
<section id="signin" class="card">
  <h2>Sign in with an access key</h2>
  <form id="signin-form">
    <label for="access-key">Access key id</label>
    <input id="access-key" autocomplete="username" required>
    <label for="secret-key">Secret access key</label>
    <input id="secret-key" type="password" autocomplete="current-password" required>
    <label for="region">Region</label>
    <input id="region">
    <p class="dim small">The browser signs every request itself (AWS Signature V4); the secret is
      never sent and is kept only in this tab's session storage until you sign out or close it.</p>
    <button type="submit" id="signin-submit">Sign in</button>
  </form>
  <div id="signin-error"></div>
</section>
<main id="main" hidden>
  <div><button id="refresh">Refresh</button></div>
  <section id="buckets" class="card"><h2>Buckets</h2><div class="body"></div></section>
  <section id="objects" class="card" hidden><div class="head"></div><div class="body"></div></section>
  <div id="ops"></div>
</main>
<script>${CONSOLE_JS}</script>
</body>
</html>
`;
}

/**
 * Whether an unsigned request asks for the console: a browser's `GET /`
 * (no query, no Authorization header or presigned query, `Accept` naming
 * `text/html`). Everything else at `/` stays S3 (ListBuckets, or its
 * AccessDenied when unsigned).
 *
 * @param req The request.
 * @returns True when the console page should answer.
 */
export function wantsConsole(req: Request): boolean {
  if (req.method !== "GET" || req.headers.has("authorization")) return false;
  const url = new URL(req.url);
  if (url.pathname !== "/" || url.search !== "") return false;
  return (req.headers.get("accept") ?? "").toLowerCase().includes("text/html");
}

/**
 * The console page as a response, with headers that keep it from being
 * framed, cached or leaking its URL.
 *
 * @param region The vault's region.
 * @returns The response.
 */
export function consoleResponse(region: string): Response {
  return new Response(consoleHtml(region), {
    status: 200,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": CONSOLE_CSP,
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      "x-frame-options": "DENY",
      "referrer-policy": "no-referrer",
      // A page that opened the console cannot later swap its tab for a lookalike.
      "cross-origin-opener-policy": "same-origin",
    },
  });
}
