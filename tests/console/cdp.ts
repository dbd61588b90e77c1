/**
 * A minimal Chrome DevTools Protocol driver for headless Chromium: starts the
 * browser, opens one page, evaluates scripts in it, types, waits for
 * conditions and takes screenshots. No npm package: a WebSocket and JSON.
 *
 * @module
 */

/** How long one wait or protocol call may take. */
const TIMEOUT_MS = 30_000;

interface Pending {
  resolve(v: Record<string, unknown>): void;
  reject(e: Error): void;
}

/** A page in a running headless Chromium. */
export interface BrowserPage {
  /** Loads a URL and waits for the load event. */
  goto(url: string): Promise<void>;
  /** Evaluates an expression in the page (promises awaited) and returns its JSON value. */
  evaluate<T>(expression: string): Promise<T>;
  /** Polls `expression` until it is truthy; throws with `what` after the timeout. */
  waitFor(expression: string, what: string, timeoutMs?: number): Promise<void>;
  /** Focuses the element and types text as keyboard input. */
  type(selector: string, text: string): Promise<void>;
  /** Clicks the element (a DOM click: the test drives the console, not pixel positions). */
  click(selector: string): Promise<void>;
  /** Saves a full-page PNG screenshot. */
  screenshot(path: string): Promise<void>;
  /** Console messages and uncaught exceptions seen so far. */
  log(): string[];
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/**
 * Starts headless Chromium with a fresh profile and opens a blank page.
 *
 * @param bin The Chromium binary.
 * @returns The page.
 */
export async function launchChromium(bin = "chromium"): Promise<BrowserPage> {
  const profile = await Deno.makeTempDir({ prefix: "amber-chromium-" });
  const args = [
    "--headless",
    "--remote-debugging-port=0",
    `--user-data-dir=${profile}`,
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--disable-background-networking",
    "--window-size=1400,1000",
    "about:blank",
  ];
  // Chromium refuses to run its sandbox as root (CI containers); the page is our own test page.
  if (Deno.uid() === 0) args.unshift("--no-sandbox");
  const child = new Deno.Command(bin, { args, stdout: "null", stderr: "piped", stdin: "null" })
    .spawn();
  let stderr = "";
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const wsUrl = await (async () => {
    const deadline = Date.now() + TIMEOUT_MS;
    while (Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      stderr += value;
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(stderr);
      if (m) return m[1];
    }
    child.kill("SIGKILL");
    throw new Error(`Chromium printed no DevTools URL:\n${stderr}`);
  })();
  // Keep draining stderr so Chromium never blocks on a full pipe.
  const drain = (async () => {
    while (!(await reader.read()).done) { /* discard */ }
  })().catch(() => undefined);

  const ws = new WebSocket(wsUrl);
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error(`cannot connect to ${wsUrl}`));
  });
  let nextId = 1;
  const pending = new Map<number, Pending>();
  const listeners: Array<(method: string, params: Record<string, unknown>) => void> = [];
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data as string);
    if (msg.id !== undefined) {
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) p?.reject(new Error(`CDP: ${JSON.stringify(msg.error)}`));
      else p?.resolve(msg.result ?? {});
    } else {
      for (const l of listeners) l(msg.method, msg.params ?? {});
    }
  };
  const send = (method: string, params: Record<string, unknown> = {}, sessionId?: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`CDP ${method} timed out`));
      }, TIMEOUT_MS);
      pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });

  const { targetId } = await send("Target.createTarget", { url: "about:blank" });
  const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true }) as {
    sessionId: string;
  };
  const page = (method: string, params: Record<string, unknown> = {}) =>
    send(method, params, sessionId);
  const messages: string[] = [];
  listeners.push((method, params) => {
    if (method === "Runtime.consoleAPICalled") {
      const args = (params.args as Array<{ value?: unknown; description?: string }>) ?? [];
      messages.push(
        `console.${params.type}: ${args.map((a) => a.value ?? a.description).join(" ")}`,
      );
    } else if (method === "Runtime.exceptionThrown") {
      messages.push(`exception: ${JSON.stringify(params.exceptionDetails)}`);
    } else if (method === "Log.entryAdded") {
      const e = params.entry as { level: string; text: string; url?: string };
      messages.push(`log.${e.level}: ${e.text}${e.url ? ` (${e.url})` : ""}`);
    }
  });
  await page("Page.enable");
  await page("Runtime.enable");
  await page("Log.enable");
  await page("Emulation.setDeviceMetricsOverride", {
    width: 1400,
    height: 1000,
    deviceScaleFactor: 1,
    mobile: false,
  });

  const evaluate = async <T>(expression: string): Promise<T> => {
    const r = await page("Runtime.evaluate", {
      expression,
      awaitPromise: true,
      returnByValue: true,
    }) as { result: { value?: T }; exceptionDetails?: unknown };
    if (r.exceptionDetails) {
      throw new Error(`page threw: ${JSON.stringify(r.exceptionDetails)}`);
    }
    return r.result.value as T;
  };

  return {
    async goto(url) {
      const loaded = new Promise<void>((resolve) => {
        listeners.push((method) => {
          if (method === "Page.loadEventFired") resolve();
        });
      });
      await page("Page.navigate", { url });
      await loaded;
    },
    evaluate,
    async waitFor(expression, what, timeoutMs = TIMEOUT_MS) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (await evaluate<boolean>(`Boolean(${expression})`)) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`timed out waiting for ${what}; page log:\n${messages.join("\n")}`);
    },
    async type(selector, text) {
      await evaluate(`document.querySelector(${JSON.stringify(selector)}).focus()`);
      await page("Input.insertText", { text });
    },
    async click(selector) {
      const found = await evaluate<boolean>(
        `(() => { const el = document.querySelector(${
          JSON.stringify(selector)
        }); if (!el) return false; el.click(); return true; })()`,
      );
      if (!found) throw new Error(`no element matches ${selector}`);
    },
    async screenshot(path) {
      const { data } = await page("Page.captureScreenshot", {
        format: "png",
        captureBeyondViewport: true,
      }) as { data: string };
      await Deno.writeFile(path, Uint8Array.from(atob(data), (c) => c.charCodeAt(0)));
    },
    log: () => [...messages],
    async close() {
      await send("Browser.close").catch(() => undefined);
      ws.close();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await child.status;
      clearTimeout(timer);
      await drain;
      await Deno.remove(profile, { recursive: true }).catch(() => undefined);
    },
  };
}
