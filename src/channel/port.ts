/**
 * Request/response over a `MessagePort` or `Worker`.
 *
 * Semantics: every request gets a numeric id and exactly one reply; replies
 * may arrive in any order (the server handles requests concurrently). A
 * request is rejected with a `ChannelError` when the peer reports an error,
 * when its timeout passes, or when the channel is closed. Backpressure is the
 * caller's: it bounds how many requests it keeps in flight. `ArrayBuffer`s
 * named in the transfer list are moved to the peer.
 *
 * @module
 */

import type { WireError } from "./protocol.ts";

/** Anything that posts and receives messages: a `Worker`, a `MessagePort`, or a Worker's `self`. */
export interface Endpoint {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: "message", listener: (e: MessageEvent) => void): void;
  start?: () => void;
}

/** An error reported by the other side of a channel, carrying its {@linkcode WireError}. */
export class ChannelError extends Error {
  readonly wire: WireError;
  constructor(wire: WireError) {
    super(wire.message);
    this.name = "ChannelError";
    this.wire = wire;
  }
}

type Reply = { id: number; ok: true; result: unknown } | {
  id: number;
  ok: false;
  error: WireError;
};

/** A typed client: `call(req)` returns the result type mapped from `req.type`. */
export class Client<Req extends { type: string }, Results extends { [K in Req["type"]]: unknown }> {
  #port: Endpoint;
  #nextId = 1;
  /** Requests awaiting a reply, oldest first (ids grow, and all share one timeout). */
  #pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; deadline: number; type: string }
  >();
  #timeoutMs: number;
  /** Checks deadlines while requests are pending: one timer per client, not one per request. */
  #sweeper?: ReturnType<typeof setInterval>;

  /**
   * @param port The endpoint to talk over.
   * @param options `timeoutMs` per request. @default 120000
   */
  constructor(port: Endpoint, options: { timeoutMs?: number } = {}) {
    this.#port = port;
    this.#timeoutMs = options.timeoutMs ?? 120_000;
    port.addEventListener("message", (e: MessageEvent) => this.#onReply(e.data as Reply));
    port.start?.();
  }

  #onReply(reply: Reply) {
    const p = this.#pending.get(reply.id);
    if (!p) return;
    this.#pending.delete(reply.id);
    if (reply.ok) p.resolve(reply.result);
    else p.reject(new ChannelError(reply.error));
  }

  /**
   * Sends one request and waits for its reply.
   *
   * @param req The request.
   * @param transfer Buffers to move to the peer.
   * @returns The result for that request type.
   */
  call<T extends Req["type"]>(
    // Typed by the exact variant, so a misspelt or unknown field is a compile error.
    req: Extract<Req, { type: T }>,
    transfer: Transferable[] = [],
  ): Promise<Results[T]> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const deadline = performance.now() + this.#timeoutMs;
      this.#pending.set(id, {
        resolve: resolve as (v: unknown) => void,
        reject,
        deadline,
        type: req.type,
      });
      this.#sweeper ??= setInterval(() => this.#sweep(), Math.min(1000, this.#timeoutMs));
      this.#port.postMessage({ id, req }, transfer);
    });
  }

  #sweep() {
    const now = performance.now();
    for (const [id, p] of this.#pending) {
      if (p.deadline > now) break;
      this.#pending.delete(id);
      p.reject(
        new ChannelError({
          area: "channel",
          kind: "timeout",
          message: `Request "${p.type}" timed out after ${this.#timeoutMs} ms`,
        }),
      );
    }
    if (this.#pending.size === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }

  /** Rejects every pending request; used on shutdown. */
  close(): void {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    for (const [id, p] of this.#pending) {
      p.reject(new ChannelError({ area: "channel", kind: "closed", message: "Channel closed" }));
      this.#pending.delete(id);
    }
  }
}

/** What a handler returns: the result and the buffers to move with it. */
export interface Handled<T> {
  result: T;
  transfer?: Transferable[];
}

/**
 * Serves requests arriving on `port` with `handler`, concurrently.
 *
 * @param port The endpoint to serve.
 * @param handler Handles one request; throws domain errors that `toWire` turns into {@linkcode WireError}s.
 * @param toWire Converts a thrown value to a wire-safe error.
 */
export function serve<Req extends { type: string }>(
  port: Endpoint,
  handler: (req: Req) => Promise<Handled<unknown>> | Handled<unknown>,
  toWire: (e: unknown) => WireError,
): void {
  port.addEventListener("message", async (e: MessageEvent) => {
    const { id, req } = e.data as { id: number; req: Req };
    try {
      const { result, transfer } = await handler(req);
      port.postMessage({ id, ok: true, result }, transfer ?? []);
    } catch (err) {
      port.postMessage({ id, ok: false, error: toWire(err) }, []);
    }
  });
  port.start?.();
}
