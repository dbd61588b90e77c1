import assert from "node:assert/strict";
import { isNoRoom } from "./errors.ts";

Deno.test("isNoRoom - ENOSPC, EFBIG and EDQUOT mean no room; other errors do not", () => {
  for (const errno of [28, 27, 122]) {
    assert.ok(isNoRoom(new Error(`Some write failed (os error ${errno})`)), `errno ${errno}`);
  }
  for (const errno of [5, 13, 2, 280]) {
    assert.ok(!isNoRoom(new Error(`Some write failed (os error ${errno})`)), `errno ${errno}`);
  }
  assert.ok(!isNoRoom("No space left on device (os error 28)"), "only errors are classified");
});
