import assert from "node:assert/strict";
import { S3Error } from "./errors.ts";
import { child, childrenNamed, escapeXml, parseXml, renderXml } from "./xml.ts";

Deno.test("parseXml - reads namespaced and namespace-less documents alike", () => {
  for (
    const text of [
      '<?xml version="1.0"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a&amp;b</Key></Object><Quiet>true</Quiet></Delete>',
      "<Delete><Object><Key>a&amp;b</Key></Object><Quiet>true</Quiet></Delete>",
      "<s3:Delete xmlns:s3='x'><s3:Object><s3:Key>a&#38;b</s3:Key></s3:Object><s3:Quiet>true</s3:Quiet></s3:Delete>",
    ]
  ) {
    const root = parseXml(text);
    assert.equal(root.name, "Delete");
    assert.equal(child(childrenNamed(root, "Object")[0], "Key")?.text, "a&b");
    assert.equal(child(root, "Quiet")?.text, "true");
  }
});

Deno.test("parseXml - malformed documents are MalformedXML", () => {
  for (
    const text of [
      "",
      "<a>",
      "<a></b>",
      "<a/><b/>",
      "text",
      '<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>',
      "<a>&bogus;</a>",
      "<a><b></a></b>",
    ]
  ) {
    assert.throws(
      () => parseXml(text),
      (e: unknown) => e instanceof S3Error && e.code === "MalformedXML",
      text,
    );
  }
});

Deno.test("renderXml - escapes text and repeats arrays", () => {
  const xml = renderXml("R", { K: ["a<b", "c"], N: { X: 1 }, U: undefined });
  assert.ok(xml.includes("<K>a&lt;b</K><K>c</K><N><X>1</X></N>"));
  assert.ok(!xml.includes("<U>"));
  assert.equal(escapeXml("\x01&"), "&#x1;&amp;");
});

Deno.test("renderXml and parseXml - round trip of odd text", () => {
  const odd = "ключ/😀 <&>\"' \t tab";
  const root = parseXml(renderXml("R", { K: odd }));
  assert.equal(child(root, "K")?.text, odd);
});
