/**
 * Tiny object bodies kept in the index, sealed. Shared by the index, which
 * seals and opens them, and the scrubber, which checks them.
 *
 * The index file, its checkpoints and its journal records all hold these
 * bodies, so each is sealed on its own with ChaCha20-Poly1305 under the
 * keyring's inline key: `[format 1][nonce 12][ciphertext][tag 16]`. A flipped
 * byte fails the open, and is never returned as data.
 *
 * @module
 */

import { createCipheriv, createDecipheriv } from "node:crypto";

const FORMAT = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + NONCE_BYTES;
/** Bytes a sealed body adds to its plaintext. */
export const INLINE_OVERHEAD_BYTES = HEADER_BYTES + TAG_BYTES;
const AAD = new TextEncoder().encode("amber/v1/inline-body");

/** Seals and opens inline bodies under one key. */
export interface InlineSealer {
  seal(plaintext: Uint8Array): Uint8Array;
  /** @throws {Error} when the sealed body does not authenticate: damage is never returned as data. */
  open(sealed: Uint8Array): Uint8Array;
}

/**
 * The sealer of a vault's inline bodies.
 *
 * @param key The keyring's 32-byte inline key.
 */
export function inlineSealer(key: Uint8Array): InlineSealer {
  return {
    seal(plaintext) {
      const out = new Uint8Array(INLINE_OVERHEAD_BYTES + plaintext.length);
      out[0] = FORMAT;
      const nonce = crypto.getRandomValues(out.subarray(1, HEADER_BYTES));
      const cipher = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: TAG_BYTES });
      cipher.setAAD(AAD, { plaintextLength: plaintext.length });
      const body = cipher.update(plaintext);
      out.set(body, HEADER_BYTES);
      cipher.final();
      out.set(cipher.getAuthTag(), HEADER_BYTES + body.length);
      return out;
    },
    open(sealed) {
      if (sealed.length < INLINE_OVERHEAD_BYTES || sealed[0] !== FORMAT) {
        throw new Error("Cannot open an inline object body: unknown format");
      }
      const tagAt = sealed.length - TAG_BYTES;
      const decipher = createDecipheriv(
        "chacha20-poly1305",
        key,
        sealed.subarray(1, HEADER_BYTES),
        { authTagLength: TAG_BYTES },
      );
      decipher.setAAD(AAD, { plaintextLength: tagAt - HEADER_BYTES });
      decipher.setAuthTag(sealed.subarray(tagAt));
      try {
        const body = decipher.update(sealed.subarray(HEADER_BYTES, tagAt));
        decipher.final();
        return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
      } catch {
        throw new Error("Cannot open an inline object body: it does not authenticate");
      }
    },
  };
}
