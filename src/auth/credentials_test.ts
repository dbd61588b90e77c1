import assert from "node:assert/strict";
import { generateSecretKey } from "./credentials.ts";

Deno.test("generateSecretKey - 40 letters and digits, each as likely as the others", () => {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const counts = new Map<string, number>();
  for (let i = 0; i < 20_000; i++) {
    const secret = generateSecretKey();
    assert.match(secret, /^[A-Za-z0-9]{40}$/);
    for (const c of secret) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  // `byte % 62` alone made the first 256 % 62 = 8 characters 25 % likelier than the rest.
  const mean = (cs: string[]) => cs.reduce((n, c) => n + (counts.get(c) ?? 0), 0) / cs.length;
  const first = mean([...alphabet.slice(0, 8)]);
  const rest = mean([...alphabet.slice(8)]);
  assert.ok(Math.abs(first / rest - 1) < 0.05, `first 8 characters ${first}, the rest ${rest}`);
});
