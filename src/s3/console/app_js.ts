/**
 * The web console's browser code, as a string the page inlines (the router
 * Worker has no file access, and the console must work air-gapped). It runs
 * after the signer functions (`signer.ts`) and uses only standard S3
 * requests plus the vault's unsigned `/healthz`, `/metrics` and, when a vault
 * serves them, `/health/*` and `/admin/audit` JSON endpoints.
 *
 * Written without template literals so it can live in one here.
 *
 * @module
 */

/** The console's script (runs after the signer functions are defined). */
export const CONSOLE_APP_JS = String.raw`
(() => {
  "use strict";
  const STORE_KEY = "amber.console.credentials";
  const DEFAULT_REGION = document.documentElement.dataset.region || "us-east-1";
  /** Panels that fill in from operator endpoints when the vault serves them. */
  const OPERATOR_PANELS = [
    {
      id: "drives",
      title: "Drives and scrub",
      path: "/health/drives",
      metrics: /^amber_(drive|scrub)_/,
    },
    { id: "signals", title: "Ransomware signals", path: "/health/signals", render: renderSignals },
    {
      id: "usage",
      title: "Usage vs quota and backup freshness",
      path: "/health/buckets",
      render: renderBucketHealth,
    },
    { id: "audit", title: "Audit log", path: "/admin/audit", signed: true, render: renderAudit },
  ];
  const MARKER_EXPLAINED = "A delete marker is what a DELETE without a version id leaves behind: " +
    "the key now looks deleted to ordinary GETs and listings, but every older version below it " +
    "is still stored, and locked versions stay protected until their retain-until date. " +
    "A delete marker is not a broken lock. Deleting the marker itself (by its version id) makes " +
    "the previous version current again.";

  let creds = null;
  let clockOffsetMs = 0;
  const state = { bucket: "", prefix: "", lockEnabled: false };

  // ---- small DOM helpers (text only: nothing from the vault is parsed as HTML) ----
  const $ = (sel) => document.querySelector(sel);
  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  const fill = (el, ...children) => {
    el.replaceChildren();
    el.append(...children.flat().filter((c) => c !== undefined && c !== null && c !== false));
  };
  const childText = (el, tag) => {
    const c = el && el.getElementsByTagName(tag)[0];
    return c ? c.textContent : "";
  };
  const directChildren = (el, tag) => Array.from(el.children).filter((c) => c.tagName === tag);

  function formatBytes(n) {
    if (n === "" || n === undefined || isNaN(Number(n))) return "";
    let v = Number(n);
    const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return (i === 0 ? String(v) : v.toFixed(1)) + " " + units[i];
  }
  function relative(ms) {
    const s = Math.round((ms - Date.now() - clockOffsetMs) / 1000);
    const a = Math.abs(s);
    const span = a < 120 ? a + " s" : a < 7200 ? Math.round(a / 60) + " min" :
      a < 172800 ? Math.round(a / 3600) + " h" : Math.round(a / 86400) + " days";
    return s >= 0 ? "in " + span : span + " ago";
  }
  const when = (iso) => iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "";
  /** A key as drawn: characters that draw as nothing or reorder text are named, so lookalikes differ. */
  const HIDDEN_CHARS = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff]/g;
  const shownKey = (k) => k.replace(HIDDEN_CHARS, (c) => "\u27e8U+" + c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0") + "\u27e9");

  // ---- S3 over fetch, signed in the page ----
  function parseS3Error(status, text) {
    const out = { status, code: "HTTP" + status, message: "", requestId: "", serverTime: "" };
    if (text) {
      const doc = new DOMParser().parseFromString(text, "application/xml");
      const root = doc.documentElement;
      if (root && root.tagName === "Error") {
        out.code = childText(root, "Code") || out.code;
        out.message = childText(root, "Message");
        out.requestId = childText(root, "RequestId");
        out.serverTime = childText(root, "ServerTime");
      }
    }
    return out;
  }
  async function sha256Base64(bytes) {
    const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    return btoa(String.fromCharCode(...d));
  }
  /** One signed S3 request; resolves to { ok, status, headers, doc, error } and never throws. */
  async function s3(method, bucket, key, query, opts) {
    const o = opts || {};
    const body = new TextEncoder().encode(o.body || "");
    const amzHeaders = Object.assign({}, o.amzHeaders || {});
    // PutObjectRetention and PutObjectLegalHold need an integrity checksum, as on AWS.
    if (o.body) amzHeaders["x-amz-checksum-sha256"] = await sha256Base64(body);
    for (let attempt = 0; attempt < 2; attempt++) {
      let res;
      try {
        const signed = await signRequest({
          method,
          host: location.host,
          path: s3Path(bucket, key),
          query,
          amzHeaders,
          body,
          accessKeyId: creds.accessKeyId,
          secretAccessKey: creds.secretAccessKey,
          region: creds.region,
          nowMs: Date.now() + clockOffsetMs,
        });
        res = await fetch(signed.url, {
          method,
          headers: signed.headers,
          body: o.body ? body : undefined,
          cache: "no-store",
          credentials: "omit",
        });
      } catch (e) {
        return { ok: false, status: 0, error: { code: "NetworkError", message: String(e) } };
      }
      const text = method === "HEAD" ? "" : await res.text();
      if (res.ok) {
        const doc = text ? new DOMParser().parseFromString(text, "application/xml") : null;
        return { ok: true, status: res.status, headers: res.headers, doc };
      }
      const error = parseS3Error(res.status, text);
      if (error.code === "RequestTimeTooSkewed" && error.serverTime && attempt === 0) {
        clockOffsetMs = Date.parse(error.serverTime) - Date.now();
        continue;
      }
      if (method === "HEAD" && res.headers.get("x-amz-delete-marker") === "true") {
        error.code = "DeleteMarker";
      }
      return { ok: false, status: res.status, headers: res.headers, error };
    }
  }
  const errorText = (e) =>
    e.code + (e.message ? ": " + e.message : "") + (e.requestId ? " (request " + e.requestId + ")" : "");

  /** An outcome line: refused (the vault said no, with its S3 error) is not a failure. */
  function outcome(el, res, okText) {
    el.className = "outcome";
    if (res.ok) {
      el.classList.add("done");
      el.textContent = okText;
    } else if (res.status === 403 || res.status === 409 || res.status === 400) {
      el.classList.add("refused");
      el.textContent = "Refused by the vault: " + errorText(res.error);
    } else {
      el.classList.add("failed");
      el.textContent = "Failed: " + errorText(res.error);
    }
  }

  // ---- clock and health ----
  async function loadHealthz() {
    const el = $("#panel-health .body");
    try {
      const res = await fetch("/healthz", { cache: "no-store", credentials: "omit" });
      const date = Date.parse(res.headers.get("date") || "");
      if (!isNaN(date)) clockOffsetMs = date - Date.now();
      const body = await res.json().catch(() => ({}));
      const ok = res.ok && body.status === "ok";
      fill(
        el,
        h("span", { class: "badge " + (ok ? "good" : "bad"), id: "healthz-state" }, body.status || "HTTP " + res.status),
        body.error ? h("span", { class: "dim" }, " " + body.error) : null,
        h("div", { class: "dim" }, "Browser clock vs vault clock: " + Math.round(clockOffsetMs / 1000) + " s (requests are signed with the vault's time)"),
      );
      $("#health-pill").className = "badge " + (ok ? "good" : "bad");
      $("#health-pill").textContent = "vault " + (body.status || "HTTP " + res.status);
    } catch (e) {
      fill(el, h("span", { class: "badge bad" }, "unreachable"), " " + String(e));
    }
  }
  async function loadMetrics() {
    try {
      const res = await fetch("/metrics", { cache: "no-store", credentials: "omit" });
      if (!res.ok) return null;
      const out = [];
      for (const line of (await res.text()).split("\n")) {
        if (!line || line.startsWith("#")) continue;
        const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
        if (m) out.push({ name: m[1], labels: m[2] || "", value: Number(m[3]) });
      }
      return out;
    } catch {
      return null;
    }
  }
  function metricValue(metrics, name) {
    const m = metrics && metrics.find((x) => x.name === name && !x.labels);
    return m ? m.value : undefined;
  }
  const seconds = (v) => String(Math.round(v || 0) || 0) + " s";
  function renderClock(metrics) {
    const el = $("#panel-clock .body");
    const ahead = metricValue(metrics, "amber_clock_wall_ahead_seconds");
    const jump = metricValue(metrics, "amber_clock_uncredited_jump_seconds");
    if (ahead === undefined && jump === undefined) {
      fill(el, notAvailable("/metrics (amber_clock_*)", "not served"));
      return;
    }
    const alarm = (jump || 0) > 0 || (ahead || 0) > 60;
    fill(
      el,
      h("span", { class: "badge " + (alarm ? "bad" : "good") }, alarm ? "clock moved" : "steady"),
      kv([
        ["Wall clock ahead of the trusted clock", seconds(ahead)],
        ["Forward jump not credited to retention", seconds(jump)],
      ]),
      h("div", { class: "dim" }, "Retention counts time on the vault's trusted clock, so moving the system clock forward does not release locked versions."),
    );
  }
  function renderStorage(metrics) {
    const el = $("#panel-storage .body");
    const logical = metricValue(metrics, "amber_logical_bytes");
    const stored = metricValue(metrics, "amber_stored_bytes");
    if (logical === undefined) {
      fill(el, notAvailable("/metrics (amber_logical_bytes)", "not served"));
      return;
    }
    fill(el, kv([
      ["Object versions", String(metricValue(metrics, "amber_object_versions") ?? "")],
      ["Logical bytes (what clients wrote)", formatBytes(logical)],
      ["Stored bytes (after dedup and compression)", formatBytes(stored)],
      ["Segment files on disk", formatBytes(metricValue(metrics, "amber_segment_disk_bytes"))],
    ]));
  }
  function kv(rows) {
    return h("table", { class: "kv" }, rows.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v))));
  }
  function notAvailable(path, why) {
    return h("div", { class: "na" }, "Not available on this vault (" + why + "): this panel fills in when the vault serves " + path + ".");
  }

  /** Renders JSON whose shape this console does not know in advance: tables for arrays of objects. */
  function renderJson(value) {
    const cell = (v) => {
      const s = v !== null && typeof v === "object" ? JSON.stringify(v) : String(v);
      const cls = /^(ok|healthy|pass)$/i.test(s) ? "badge good" :
        /^(late|too-small|over-quota|failed|degraded|alert|firing|bad)$/i.test(s) ? "badge bad" : "";
      return h("td", {}, cls ? h("span", { class: cls }, s) : s);
    };
    if (Array.isArray(value)) {
      if (value.length === 0) return h("div", { class: "dim" }, "(empty)");
      if (value.every((r) => r && typeof r === "object" && !Array.isArray(r))) {
        const cols = [...new Set(value.flatMap((r) => Object.keys(r)))];
        const rows = value.slice(-200);
        return h("table", { class: "grid" },
          h("thead", {}, h("tr", {}, cols.map((c) => h("th", {}, c)))),
          h("tbody", {}, rows.map((r) => h("tr", {}, cols.map((c) => cell(r[c] ?? ""))))));
      }
      return h("pre", {}, JSON.stringify(value, null, 2));
    }
    if (value && typeof value === "object") {
      const parts = [];
      const scalars = [];
      for (const [k, v] of Object.entries(value)) {
        if (Array.isArray(v)) parts.push(h("h4", {}, k), renderJson(v));
        else scalars.push([k, v !== null && typeof v === "object" ? JSON.stringify(v) : String(v)]);
      }
      return h("div", {}, scalars.length ? kv(scalars) : null, parts);
    }
    return h("pre", {}, String(value));
  }
  /** GET of an operator endpoint; admin ones are signed (an unsigned try would be an audited refusal). */
  async function operatorGet(p, query) {
    const headers = { accept: "application/json" };
    if (!p.signed) return fetch(p.path, { cache: "no-store", credentials: "omit", headers });
    const signed = await signRequest({
      method: "GET", host: location.host, path: p.path, query, amzHeaders: {},
      body: new Uint8Array(0), accessKeyId: creds.accessKeyId,
      secretAccessKey: creds.secretAccessKey, region: creds.region,
      nowMs: Date.now() + clockOffsetMs,
    });
    return fetch(signed.url, { headers: Object.assign(headers, signed.headers), cache: "no-store", credentials: "omit" });
  }
  /** Why an operator endpoint gave no data: not served at all (404, or S3 answered), or refused. */
  async function unavailable(p, res) {
    const type = res.headers.get("content-type") || "";
    const text = await res.text();
    if (res.status === 404 || type.includes("xml")) return notAvailable(p.path, "not served, HTTP " + res.status);
    let detail = text.slice(0, 200);
    try {
      const e = JSON.parse(text).error;
      if (e && e.code) detail = errorText(e);
    } catch { /* not JSON: keep the text */ }
    return h("div", { class: "outcome refused" }, p.path + " answered HTTP " + res.status + ": " + detail);
  }
  async function loadOperatorPanel(p, metrics) {
    const el = $("#panel-" + p.id + " .body");
    try {
      if (p.render) {
        await p.render(p, el);
        return;
      }
      const res = await operatorGet(p, []);
      if (res.ok && (res.headers.get("content-type") || "").includes("json")) {
        fill(el, h("div", { class: "dim" }, "From " + p.path), renderJson(await res.json()));
        return;
      }
      const fromMetrics = p.metrics && metrics ? metrics.filter((m) => p.metrics.test(m.name)) : [];
      fill(el, await unavailable(p, res), fromMetrics.length ? renderJson(fromMetrics) : null);
    } catch (e) {
      fill(el, notAvailable(p.path, String(e)));
    }
  }
  /**
   * The newest audit records. The export pages forward from a sequence number, so the last one is
   * found by doubling then bisecting with one-record pages (about 2·log2(n) small requests).
   */
  async function renderAudit(p, el) {
    const SHOWN = 50;
    let failed = null;
    const page = async (since, limit) => {
      const res = await operatorGet(p, [["since", String(since)], ["limit", String(limit)]]);
      if (res.ok && (res.headers.get("content-type") || "").includes("json")) return res.json();
      failed = res;
      throw new Error("audit export failed");
    };
    const hasAfter = async (seq) => (await page(seq, 1)).records.length > 0;
    try {
      if (!(await hasAfter(0))) {
        fill(el, h("div", { class: "dim" }, "The audit log is empty."));
        return;
      }
      let lo = 0;
      let hi = 1;
      while (await hasAfter(hi)) {
        lo = hi;
        hi *= 2;
      }
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (await hasAfter(mid)) lo = mid;
        else hi = mid;
      }
      const last = await page(Math.max(0, hi - SHOWN), SHOWN);
      const records = last.records.slice().reverse();
      const sealed = last.seals.length ? "last seal in view at record " + last.seals[last.seals.length - 1].seq : "no seal in view yet";
      fill(el,
        h("div", { class: "dim", id: "audit-summary" }, "Latest " + records.length + " of " + hi + " records, newest first; " + sealed + ". Signing key " + last.publicKey.slice(0, 16) + "…"),
        h("table", { class: "grid", id: "audit-records" },
          h("thead", {}, h("tr", {}, ["#", "Time", "Operation", "Target", "Outcome", "Detail"].map((c) => h("th", {}, c)))),
          h("tbody", {}, records.map((r) => h("tr", { class: "audit-" + r.outcome },
            h("td", {}, String(r.seq)),
            h("td", {}, when(new Date(r.time).toISOString())),
            h("td", {}, r.op),
            h("td", {}, h("code", { class: "small" }, r.target)),
            h("td", {}, h("span", { class: "badge " + (r.outcome === "refused" ? "bad" : "good") }, r.outcome)),
            h("td", { class: "small" }, r.detail))))));
    } catch (e) {
      fill(el, failed ? await unavailable(p, failed) : notAvailable(p.path, String(e)));
    }
  }
  async function loadOperations() {
    loadHealthz();
    const metrics = await loadMetrics();
    renderClock(metrics);
    renderStorage(metrics);
    await Promise.all(OPERATOR_PANELS.map((p) => loadOperatorPanel(p, metrics)));
  }

  // ---- buckets ----
  // ---- bucket health: usage, quota and freshness (unsigned /health/buckets) ----
  let healthLoad = null;
  /** The vault's /health/buckets report ({ state, buckets: [...] }), fetched once per refresh. */
  function bucketHealth() {
    healthLoad ??= (async () => {
      try {
        const res = await fetch("/health/buckets", { cache: "no-store", credentials: "omit", headers: { accept: "application/json" } });
        // 503 with a report means "not every bucket is ok", which is an answer too.
        const data = (res.headers.get("content-type") || "").includes("json") ? await res.clone().json() : null;
        return { res, report: data && Array.isArray(data.buckets) ? data : null };
      } catch (e) {
        return { res: null, report: null, error: String(e) };
      }
    })();
    return healthLoad;
  }
  const stateBadge = (state) =>
    h("span", { class: "badge " + (state === "ok" ? "good" : "bad") + " health-state" }, state);
  function usageText(b) {
    const q = b.quota || {};
    const used = b.usage.logicalBytes;
    let text = formatBytes(used);
    if (q.hardBytes) text += " of " + formatBytes(q.hardBytes) + " (" + Math.round((100 * used) / q.hardBytes) + " %)";
    if (q.softBytes) text += ", soft " + formatBytes(q.softBytes);
    return text;
  }
  function freshnessLines(b) {
    return b.freshness.map((f) => h("div", { class: "small" },
      stateBadge(f.state), (f.prefix || "(whole bucket)") + ": ",
      f.lastBackupAt ? "last backup " + when(f.lastBackupAt) + " (" + formatBytes(f.lastBackupBytes) + ")" : "no backup yet",
      ", due " + when(f.dueAt)));
  }
  async function renderBucketHealth(p, el) {
    const { res, report, error } = await bucketHealth();
    if (!report) {
      fill(el, res ? await unavailable(p, res.clone()) : notAvailable(p.path, error));
      return;
    }
    fill(el,
      h("div", {}, "Overall: ", stateBadge(report.state), h("span", { class: "dim" }, " at " + when(report.time))),
      h("table", { class: "grid", id: "health-table" },
        h("thead", {}, h("tr", {}, ["Bucket", "State", "Usage (logical)", "Stored", "Objects", "Freshness", "Reasons"].map((c) => h("th", {}, c)))),
        h("tbody", {}, report.buckets.map((b) => h("tr", { "data-bucket": b.bucket },
          h("td", {}, b.bucket),
          h("td", {}, stateBadge(b.state)),
          h("td", {}, usageText(b)),
          h("td", {}, formatBytes(b.usage.storedBytes)),
          h("td", {}, String(b.usage.objects) + (b.quota && b.quota.maxObjects ? " of " + b.quota.maxObjects : "")),
          h("td", {}, b.freshness.length ? freshnessLines(b) : h("span", { class: "dim" }, "no rule")),
          h("td", { class: "small" }, b.reasons.join(" ")))))));
  }

  // ---- ransomware signals (unsigned /health/signals: { active, recent }) ----
  async function renderSignals(p, el) {
    const res = await operatorGet(p, []);
    const data = res.ok && (res.headers.get("content-type") || "").includes("json") ? await res.json() : null;
    if (!data || !Array.isArray(data.active)) {
      fill(el, await unavailable(p, res));
      return;
    }
    const line = (a) => h("div", { class: "signal" },
      h("span", { class: "badge bad" }, a.signal), h("code", {}, a.subject), " since " + when(new Date(a.since).toISOString()),
      h("div", { class: "small" }, a.message));
    // Newest first, as the vault lists them.
    const recent = (data.recent || []).slice(0, 20);
    fill(el,
      data.active.length
        ? h("div", { id: "signals-active" }, data.active.map(line))
        : h("div", { id: "signals-active" }, h("span", { class: "badge good" }, "quiet"), " No signal is active."),
      recent.length ? [h("h4", {}, "Recent alerts"), ...recent.map(line)] : h("div", { class: "dim small" }, "No alert raised since the vault started."));
  }

  async function loadBuckets() {
    const el = $("#buckets .body");
    fill(el, h("div", { class: "dim" }, "Loading…"));
    const res = await s3("GET", "", "", []);
    if (!res.ok) {
      fill(el, h("div", { class: "outcome failed" }, "ListBuckets: " + errorText(res.error)));
      return false;
    }
    const buckets = Array.from(res.doc.getElementsByTagName("Bucket")).map((b) => ({
      name: childText(b, "Name"),
      created: childText(b, "CreationDate"),
    }));
    if (buckets.length === 0) {
      fill(el, h("div", { class: "dim" }, "This key sees no buckets."));
      return true;
    }
    const rows = buckets.map((b) => {
      const versioning = h("td", { class: "versioning" }, "…");
      const lock = h("td", { class: "lock" }, "…");
      const health = h("td", { class: "health" }, "…");
      bucketSettings(b.name).then((s) => {
        fill(versioning, s.versioning);
        fill(lock, s.lockCell);
      });
      bucketHealth().then(({ report }) => {
        const mine = report && report.buckets.find((x) => x.bucket === b.name);
        if (!mine) fill(health, h("span", { class: "dim", title: "/health/buckets is not served" }, "—"));
        else fill(health, stateBadge(mine.state), usageText(mine), mine.reasons.map((r) => h("div", { class: "dim small" }, r)));
      });
      return h("tr", { "data-bucket": b.name },
        h("td", {}, h("button", { class: "link", onclick: () => openBucket(b.name, "") }, b.name)),
        h("td", {}, when(b.created)), versioning, lock, health);
    });
    fill(el, h("table", { class: "grid", id: "bucket-table" },
      h("thead", {}, h("tr", {}, ["Bucket", "Created", "Versioning", "Object Lock", "Health and usage vs quota"].map((c) => h("th", {}, c)))),
      h("tbody", {}, rows)));
    return true;
  }
  async function bucketSettings(bucket) {
    const [v, l] = await Promise.all([
      s3("GET", bucket, "", [["versioning", ""]]),
      s3("GET", bucket, "", [["object-lock", ""]]),
    ]);
    let versioning;
    if (!v.ok) versioning = h("span", { class: "dim" }, errorText(v.error));
    else {
      const status = childText(v.doc.documentElement, "Status");
      versioning = h("span", { class: "badge " + (status === "Enabled" ? "good" : "warn") }, status || "Never enabled");
    }
    let lockCell;
    let lockEnabled = false;
    if (l.ok && childText(l.doc.documentElement, "ObjectLockEnabled") === "Enabled") {
      lockEnabled = true;
      const mode = childText(l.doc.documentElement, "Mode");
      const days = childText(l.doc.documentElement, "Days");
      const years = childText(l.doc.documentElement, "Years");
      lockCell = [h("span", { class: "badge good" }, "Enabled"), " ",
        mode ? "default " + mode + " " + (days ? days + " days" : years + " years") : "no default retention"];
    } else if (!l.ok && l.error.code === "ObjectLockConfigurationNotFoundError") {
      lockCell = h("span", { class: "badge warn" }, "Off");
    } else {
      lockCell = h("span", { class: "dim" }, l.ok ? "Off" : errorText(l.error));
    }
    return { versioning, lockCell, lockEnabled };
  }

  // ---- objects and versions ----
  async function openBucket(bucket, prefix) {
    state.bucket = bucket;
    state.prefix = prefix;
    const section = $("#objects");
    section.hidden = false;
    const settings = await bucketSettings(bucket);
    state.lockEnabled = settings.lockEnabled;
    const prefixInput = h("input", { id: "prefix", value: prefix, placeholder: "prefix, e.g. db/" });
    const crumbs = [h("button", { class: "link", onclick: () => openBucket(bucket, "") }, bucket + "/")];
    let acc = "";
    for (const part of prefix.split("/").filter((p) => p)) {
      acc += part + "/";
      const target = acc;
      crumbs.push(h("button", { class: "link", onclick: () => openBucket(bucket, target) }, part + "/"));
    }
    fill($("#objects .head"),
      h("h2", {}, "Bucket ", h("code", {}, bucket)),
      h("div", {}, "Versioning: ", settings.versioning, " · Object Lock: ", settings.lockCell),
      h("form", { class: "row", onsubmit: (e) => { e.preventDefault(); openBucket(bucket, prefixInput.value); } },
        h("span", { class: "crumbs" }, crumbs), prefixInput, h("button", { type: "submit" }, "List")),
    );
    fill($("#objects .body"));
    await listVersions(bucket, prefix, "", "");
    section.scrollIntoView({ block: "start" });
  }
  async function listVersions(bucket, prefix, keyMarker, versionMarker) {
    const body = $("#objects .body");
    const query = [["versions", ""], ["delimiter", "/"], ["max-keys", "200"]];
    if (prefix) query.push(["prefix", prefix]);
    if (keyMarker) query.push(["key-marker", keyMarker]);
    if (versionMarker) query.push(["version-id-marker", versionMarker]);
    const res = await s3("GET", bucket, "", query);
    if (!res.ok) {
      body.append(h("div", { class: "outcome failed" }, "ListObjectVersions: " + errorText(res.error)));
      return;
    }
    const root = res.doc.documentElement;
    const folders = directChildren(root, "CommonPrefixes").map((c) => childText(c, "Prefix"));
    const entries = Array.from(root.children).filter((c) => c.tagName === "Version" || c.tagName === "DeleteMarker");
    if (!keyMarker) {
      if (folders.length) {
        body.append(h("div", { class: "folders" }, "Folders: ",
          folders.map((f) => h("button", { class: "link folder", onclick: () => openBucket(bucket, f) }, f))));
      }
      if (entries.some((e) => e.tagName === "DeleteMarker")) {
        body.append(h("div", { class: "marker-note", id: "marker-note" }, h("strong", {}, "About delete markers. "), MARKER_EXPLAINED));
      }
      body.append(h("table", { class: "grid", id: "versions" },
        h("thead", {}, h("tr", {}, ["Key", "Kind", "Version id", "Last modified", "Size", "Lock mode", "Retain until", "Legal hold", "Actions"].map((c) => h("th", {}, c)))),
        h("tbody", {})));
      if (entries.length === 0 && folders.length === 0) body.append(h("div", { class: "dim" }, "No objects under this prefix."));
    }
    const tbody = $("#versions tbody");
    for (const e of entries) tbody.append(versionRow(bucket, e));
    $("#more")?.remove();
    if (childText(root, "IsTruncated") === "true") {
      const nextKey = directChildren(root, "NextKeyMarker")[0]?.textContent || "";
      const nextVersion = directChildren(root, "NextVersionIdMarker")[0]?.textContent || "";
      body.append(h("button", { id: "more", onclick: () => listVersions(bucket, prefix, nextKey, nextVersion) }, "Load more versions"));
    }
  }
  function versionRow(bucket, e) {
    const isMarker = e.tagName === "DeleteMarker";
    const key = childText(e, "Key");
    const versionId = childText(e, "VersionId");
    const latest = childText(e, "IsLatest") === "true";
    const mode = h("td", { class: "lock-mode" }, isMarker ? "—" : "…");
    const until = h("td", { class: "retain-until" }, isMarker ? "—" : "…");
    const hold = h("td", { class: "legal-hold" }, isMarker ? "—" : "…");
    const result = h("div", { class: "outcome" });
    const actions = h("td", { class: "actions" });
    const row = h("tr", { class: isMarker ? "marker" : "version", "data-key": key, "data-version-id": versionId, "data-kind": isMarker ? "delete-marker" : "version" },
      h("td", {}, h("code", {}, shownKey(key)), shownKey(key) !== key ? h("span", { class: "badge bad", title: "This key holds invisible or text-reordering characters" }, "hidden characters") : null),
      h("td", { class: "kind" }, isMarker ? h("span", { class: "badge marker", title: MARKER_EXPLAINED }, "DELETE MARKER") : "version", " ",
        latest ? h("span", { class: "badge latest" }, "latest") : null,
        isMarker ? h("div", { class: "dim small" }, "Hides the key; older versions are kept. Not a lock failure.") : null),
      h("td", {}, h("code", { class: "small" }, versionId)),
      h("td", {}, when(childText(e, "LastModified"))),
      h("td", {}, isMarker ? "" : formatBytes(childText(e, "Size"))),
      mode, until, hold, actions);
    const lock = { mode: "", until: "", hold: false };
    const refreshLock = async () => {
      if (isMarker) return;
      if (!state.lockEnabled) {
        fill(mode, "none");
        fill(until, "—");
        fill(hold, "—");
        fill(actions, deleteAction(bucket, key, versionId, false, result, row), result);
        return;
      }
      const r = await s3("HEAD", bucket, key, [["versionId", versionId]]);
      if (!r.ok) {
        fill(mode, h("span", { class: "dim" }, errorText(r.error)));
        return;
      }
      lock.mode = r.headers.get("x-amz-object-lock-mode") || "";
      lock.until = r.headers.get("x-amz-object-lock-retain-until-date") || "";
      lock.hold = r.headers.get("x-amz-object-lock-legal-hold") === "ON";
      const active = lock.until && Date.parse(lock.until) > Date.now() + clockOffsetMs;
      fill(mode, lock.mode ? h("span", { class: "badge " + (lock.mode === "COMPLIANCE" ? "compliance" : "governance") }, lock.mode) : "none");
      fill(until, lock.until ? [when(lock.until), h("div", { class: "dim small" }, relative(Date.parse(lock.until)) + (active ? "" : " (expired)"))] : "—");
      fill(hold, lock.hold ? h("span", { class: "badge hold" }, "ON") : "OFF");
      fill(actions, versionActions(bucket, key, versionId, lock, result, refreshLock, row), result);
    };
    if (isMarker) fill(actions, deleteAction(bucket, key, versionId, true, result, row), result);
    refreshLock();
    return row;
  }
  function versionActions(bucket, key, versionId, lock, result, refreshLock, row) {
    const extend = h("button", { class: "extend", onclick: () => {
      const current = lock.until ? Date.parse(lock.until) : Date.now() + clockOffsetMs;
      const input = h("input", { type: "datetime-local", class: "retain-input", value: new Date(current + 86400000 - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 16) });
      const modeSelect = lock.mode ? null : h("select", { class: "mode-input" }, h("option", {}, "GOVERNANCE"), h("option", {}, "COMPLIANCE"));
      const apply = h("button", { class: "apply-retention", onclick: async () => {
        const target = new Date(input.value);
        if (isNaN(target.getTime())) return;
        if (lock.until && target.getTime() <= Date.parse(lock.until)) {
          result.className = "outcome refused";
          result.textContent = "Not sent: the console only extends a retention; pick a date after " + when(lock.until) + ".";
          return;
        }
        const m = lock.mode || modeSelect.value;
        const xml = '<?xml version="1.0" encoding="UTF-8"?><Retention xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Mode>' + m + "</Mode><RetainUntilDate>" + target.toISOString() + "</RetainUntilDate></Retention>";
        const r = await s3("PUT", bucket, key, [["retention", ""], ["versionId", versionId]], { body: xml });
        form.remove();
        await refreshLock();
        outcome(result, r, "Retention set: " + m + " until " + when(target.toISOString()));
      } }, "Apply");
      const form = h("div", { class: "inline-form" }, "Retain until (local time) ", input, modeSelect, apply,
        h("button", { onclick: () => form.remove() }, "Cancel"));
      extend.after(form);
    } }, lock.mode ? "Extend retention…" : "Set retention…");
    const toggleHold = h("button", { class: "legal-hold-toggle", onclick: async () => {
      const next = lock.hold ? "OFF" : "ON";
      const xml = '<?xml version="1.0" encoding="UTF-8"?><LegalHold xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>' + next + "</Status></LegalHold>";
      const r = await s3("PUT", bucket, key, [["legal-hold", ""], ["versionId", versionId]], { body: xml });
      await refreshLock();
      outcome(result, r, next === "ON" ? "Legal hold placed." : "Legal hold removed.");
    } }, lock.hold ? "Remove legal hold" : "Place legal hold");
    return [extend, toggleHold, deleteAction(bucket, key, versionId, false, result, row)];
  }
  function deleteAction(bucket, key, versionId, isMarker, result, row) {
    const wrap = h("span", {});
    const ask = h("button", { class: "delete danger", onclick: () => {
      const confirmBtn = h("button", { class: "confirm-delete danger", onclick: async () => {
        fill(wrap, ask);
        const r = await s3("DELETE", bucket, key, [["versionId", versionId]]);
        outcome(result, r, isMarker ? "Delete marker removed: the previous version is current again." : "Version deleted.");
        if (r.ok) row.classList.add("gone");
      } }, "Confirm delete");
      fill(wrap, h("span", { class: "small" }, "Delete version " + versionId.slice(0, 12) + "…? "), confirmBtn, h("button", { onclick: () => fill(wrap, ask) }, "Cancel"));
    } }, isMarker ? "Remove marker" : "Delete version");
    wrap.append(ask);
    return wrap;
  }

  // ---- sign-in ----
  function showSignedIn() {
    $("#signin").hidden = true;
    $("#main").hidden = false;
    $("#whoami").textContent = creds.accessKeyId + " @ " + creds.region;
    $("#signout").hidden = false;
  }
  async function signIn(e) {
    e.preventDefault();
    const msg = $("#signin-error");
    msg.textContent = "";
    creds = {
      accessKeyId: $("#access-key").value.trim(),
      secretAccessKey: $("#secret-key").value,
      region: $("#region").value.trim() || DEFAULT_REGION,
    };
    await loadHealthz();
    const res = await s3("GET", "", "", []);
    if (!res.ok) {
      creds = null;
      msg.textContent = "Sign-in refused: " + errorText(res.error);
      return;
    }
    sessionStorage.setItem(STORE_KEY, JSON.stringify(creds));
    $("#secret-key").value = "";
    showSignedIn();
    await Promise.all([loadBuckets(), loadOperations()]);
  }
  function signOut() {
    sessionStorage.removeItem(STORE_KEY);
    location.reload();
  }

  function init() {
    $("#region").value = DEFAULT_REGION;
    $("#signin-form").addEventListener("submit", signIn);
    $("#signout").addEventListener("click", signOut);
    $("#refresh").addEventListener("click", () => {
      healthLoad = null;
      loadBuckets();
      loadOperations();
      if (state.bucket) openBucket(state.bucket, state.prefix);
    });
    fill($("#ops"), h("h2", {}, "Operations"),
      [["health", "Vault health (/healthz)"], ["clock", "Clock guard (/metrics)"], ["storage", "Storage (/metrics)"]]
        .concat(OPERATOR_PANELS.map((p) => [p.id, p.title + " (" + p.path + ")"]))
        .map(([id, title]) => h("section", { class: "panel", id: "panel-" + id }, h("h3", {}, title), h("div", { class: "body dim" }, "Sign in to load."))));
    const saved = sessionStorage.getItem(STORE_KEY);
    if (saved) {
      creds = JSON.parse(saved);
      showSignedIn();
      loadHealthz().then(() => Promise.all([loadBuckets(), loadOperations()]));
    } else {
      loadHealthz();
    }
  }
  init();
})();
`;
