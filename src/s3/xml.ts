/**
 * Minimal XML for the S3 wire: a writer for response documents and a small,
 * strict parser for request bodies (namespaces tolerated, DTDs refused).
 *
 * @module
 */

import { S3Error } from "./errors.ts";

/** A node of a response document: element name → text, nested object, or list of repeated elements. */
export type XmlValue = string | number | boolean | undefined | null | XmlObject | XmlValue[];
/** Element children by name. */
export interface XmlObject {
  [name: string]: XmlValue;
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

/** Escapes text for XML content. */
export function escapeXml(s: string): string {
  // Control characters are written as &#x..; as S3 does; a CR too, which a parser would otherwise
  // read back as a LF (XML end-of-line handling): a key "Icon\r" would be listed as another key.
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]).replace(
    // deno-lint-ignore no-control-regex
    /[\x00-\x08\x0b-\x1f]/g,
    (c) => `&#x${c.charCodeAt(0).toString(16)};`,
  );
}

function writeValue(name: string, value: XmlValue, out: string[]): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    for (const v of value) writeValue(name, v, out);
    return;
  }
  if (typeof value === "object") {
    out.push(`<${name}>`);
    for (const [k, v] of Object.entries(value)) writeValue(k, v, out);
    out.push(`</${name}>`);
    return;
  }
  out.push(`<${name}>${escapeXml(String(value))}</${name}>`);
}

/**
 * Renders one S3 response document with the S3 namespace.
 *
 * @param root Root element name.
 * @param body Its children.
 * @returns The XML text with declaration.
 *
 * @example
 * ```ts
 * import { renderXml } from "./xml.ts";
 * const xml = renderXml("LocationConstraint", {});
 * if (!xml.includes("<LocationConstraint")) throw new Error("bad");
 * ```
 */
export function renderXml(root: string, body: XmlObject, namespace = true): string {
  return renderXmlEntries(root, Object.entries(body), namespace);
}

/**
 * Renders a document whose children are given in order, for responses that
 * interleave elements of different names (ListObjectVersions' `Version` and
 * `DeleteMarker`).
 *
 * @param root Root element name.
 * @param entries Child elements in document order.
 * @returns The XML text with declaration.
 */
export function renderXmlEntries(
  root: string,
  entries: [string, XmlValue][],
  namespace = true,
): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>\n'];
  out.push(namespace ? `<${root} xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` : `<${root}>`);
  for (const [k, v] of entries) writeValue(k, v, out);
  out.push(`</${root}>`);
  return out.join("");
}

/** A parsed element: local name (namespace prefix dropped), children and text. */
export interface XmlElement {
  name: string;
  children: XmlElement[];
  text: string;
}

const ENTITY: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (m, e: string) => {
    if (e.startsWith("#")) {
      const cp = e.startsWith("#x") ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      // XML 1.0 Char: no NUL, no surrogates, nothing past U+10FFFF.
      if (
        !(cp > 0 && cp <= 0x10ffff) || (cp >= 0xd800 && cp <= 0xdfff) || cp === 0xfffe ||
        cp === 0xffff
      ) {
        throw new S3Error("MalformedXML", { message: `Invalid character reference "${m}"` });
      }
      return String.fromCodePoint(cp);
    }
    if (e in ENTITY) return ENTITY[e];
    throw new S3Error("MalformedXML", { message: `Unknown XML entity "${m}"` });
  });
}

/**
 * Parses a request body; any malformation is `MalformedXML`.
 *
 * @param text The XML text.
 * @returns The root element.
 */
export function parseXml(text: string): XmlElement {
  const malformed = (why: string) =>
    new S3Error("MalformedXML", { message: `${ERROR_PREFIX}: ${why}` });
  let i = 0;
  let elements = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const tag =
    /<(\/?)([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)((?:\s+[^\s=>\/]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/y;
  while (i < text.length) {
    const lt = text.indexOf("<", i);
    const chunk = lt < 0 ? text.slice(i) : text.slice(i, lt);
    if (chunk.trim() !== "") {
      if (stack.length === 0) throw malformed("text outside the root element");
      stack[stack.length - 1].text += decodeEntities(chunk);
    }
    if (lt < 0) break;
    if (text.startsWith("<?", lt)) {
      const end = text.indexOf("?>", lt);
      if (end < 0) throw malformed("unterminated declaration");
      i = end + 2;
      continue;
    }
    if (text.startsWith("<!--", lt)) {
      const end = text.indexOf("-->", lt);
      if (end < 0) throw malformed("unterminated comment");
      i = end + 3;
      continue;
    }
    if (text.startsWith("<![CDATA[", lt)) {
      const end = text.indexOf("]]>", lt);
      if (end < 0 || stack.length === 0) throw malformed("bad CDATA section");
      stack[stack.length - 1].text += text.slice(lt + 9, end);
      i = end + 3;
      continue;
    }
    if (text.startsWith("<!", lt)) throw malformed("DTDs are not accepted");
    tag.lastIndex = lt;
    const m = tag.exec(text);
    if (!m) throw malformed(`bad tag at offset ${lt}`);
    i = tag.lastIndex;
    const [, closing, , name, , selfClosing] = m;
    if (closing) {
      const open = stack.pop();
      if (!open || open.name !== name) throw malformed(`unexpected closing tag "${name}"`);
      continue;
    }
    if (++elements > MAX_ELEMENTS) throw malformed("too many elements");
    const el: XmlElement = { name, children: [], text: "" };
    if (stack.length > 0) stack[stack.length - 1].children.push(el);
    else if (root) throw malformed("more than one root element");
    else root = el;
    if (!selfClosing) stack.push(el);
    if (stack.length > 64) throw malformed("nesting too deep");
  }
  if (!root || stack.length > 0) throw malformed("document is incomplete");
  return root;
}

/** Most elements a request document may hold: 10,000 parts of up to 8 elements each, and then some. */
const MAX_ELEMENTS = 100_000;

const ERROR_PREFIX =
  "The XML you provided was not well-formed or did not validate against our published schema";

/** The first child named `name`, if any. */
export function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}

/** Every child named `name`. */
export function childrenNamed(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}
