import assert from "node:assert/strict";
import { GrantError } from "./access.ts";
import { parseKeysCommand, UsageError } from "./keys_cli.ts";

Deno.test("parseKeysCommand - add, set, list and revoke become /admin/keys requests", () => {
  assert.deepEqual(
    parseKeysCommand([
      "add",
      "app",
      "s3cret-app",
      "read",
      "data:write",
      "logs:none",
      "--bypass-governance",
      "--allow-from",
      "10.0.0.0/8,::1",
    ]),
    {
      method: "POST",
      path: "/admin/keys",
      body: {
        accessKey: "app",
        secretKey: "s3cret-app",
        level: "read",
        buckets: { data: "write", logs: "none" },
        bypassGovernance: true,
        allowFrom: ["10.0.0.0/8", "::1"],
        uploadAnytime: false,
        uploadWindows: [],
      },
    },
  );
  assert.deepEqual(
    parseKeysCommand([
      "set",
      "app",
      "--upload-anytime",
      "--upload-windows",
      "0 22 * * *@360; 0 12 * * 6@60",
    ]).body,
    {
      uploadAnytime: true,
      uploadWindows: [
        { cron: "0 22 * * *", durationMinutes: 360 },
        { cron: "0 12 * * 6", durationMinutes: 60 },
      ],
    },
  );
  assert.throws(
    () => parseKeysCommand(["set", "app", "--upload-windows", "0 22 * * *"]),
    UsageError,
  );
  assert.equal(parseKeysCommand(["add", "app", "-", "append"]).body?.secretKey, undefined);
  assert.deepEqual(
    parseKeysCommand(["set", "app", "logs:-", "data:owner", "--no-bypass-governance"]),
    {
      method: "PATCH",
      path: "/admin/keys/app",
      body: { buckets: { logs: null, data: "owner" }, bypassGovernance: false },
    },
  );
  assert.deepEqual(parseKeysCommand(["set", "app", "--allow-from-anywhere"]).body, {
    allowFrom: [],
  });
  assert.deepEqual(parseKeysCommand(["list", "--json"]), {
    method: "GET",
    path: "/admin/keys",
    json: true,
  });
  assert.deepEqual(parseKeysCommand(["revoke", "app"]), {
    method: "DELETE",
    path: "/admin/keys/app",
  });
});

Deno.test("parseKeysCommand - names what is wrong", () => {
  assert.throws(() => parseKeysCommand(["add", "app"]), UsageError);
  assert.throws(() => parseKeysCommand(["add", "app", "s3cret-app"]), /A default level is needed/);
  assert.throws(() => parseKeysCommand(["add", "app", "s", "admin"]), GrantError);
  assert.throws(() => parseKeysCommand(["set", "app"]), /needs something to change/);
  assert.throws(() => parseKeysCommand(["revoke"]), /needs an access key/);
  assert.throws(() => parseKeysCommand(["list", "--bogus"]), /Unknown option "--bogus"/);
  assert.throws(() => parseKeysCommand(["add", "a", "s", "read", "--allow-from", "x"]), GrantError);
  assert.throws(() => parseKeysCommand(["frobnicate"]), /Unknown subcommand/);
});
