import type { FastifyInstance } from "fastify";

/**
 * Request bodies are JSON whatever their Content-Type says, or without one, as Web3Signer reads
 * them: clients and scripts send sign requests as text/plain, as form data, or with no header.
 *
 * Integers are carried exactly: JSON.parse rounds a number past 2^53 to the nearest double
 * (9007199254740993 becomes …992), which would sign a message other than the one sent. Such
 * integer literals are read as decimal strings, a form every uint64 field of the APIs accepts.
 * Fastify's own JSON parser then reads the text, with its guards against prototype poisoning.
 */
export function registerJsonBody(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "string" }, (request, text, done) => {
    parseJson(request, exactIntegers(text as string), done);
  });
}

/** No integer literal of fewer digits can be beyond 2^53 (9007199254740992). */
const UNSAFE_DIGITS = 16;
const LONG_DIGITS = /\d{16}/;
/** An integer literal of 16 digits or more standing alone: not the fraction or exponent of a number, which JSON.parse reads as it may. */
const LONG_INTEGER = /(?<![\d.eE+-])-?\d{16,}(?![\d.eE])/g;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/**
 * `text` with every integer literal past 2^53 quoted, so that JSON.parse reads it exactly, as a
 * string. Outside strings a digit can only belong to a number, so the text is only split into
 * strings, skipped with indexOf (a block's transactions are megabytes of hex), and what lies
 * between them. Text with a string left open is no JSON: from there on it is left as it is.
 */
export function exactIntegers(text: string): string {
  // Nearly every body has no such literal, and is handed over as it is after one pass.
  if (!hasLongDigitRun(text)) return text;
  let out = "";
  let copied = 0;
  for (let from = 0; from < text.length; ) {
    const open = text.indexOf('"', from);
    const end = open === -1 ? text.length : open;
    const between = text.slice(from, end);
    if (LONG_DIGITS.test(between)) {
      out += text.slice(copied, from) + between.replace(LONG_INTEGER, quoteUnsafe);
      copied = end;
    }
    if (open === -1) break;
    const close = closingQuote(text, open);
    if (close === -1) break;
    from = close + 1;
  }
  return out + text.slice(copied);
}

/** Whether 16 digits stand in a row outside strings: a loop, as a regular expression takes ~10 ns a character. */
function hasLongDigitRun(text: string): boolean {
  let run = 0;
  for (let at = 0; at < text.length; at++) {
    const c = text.charCodeAt(at);
    if (c === QUOTE) {
      at = closingQuote(text, at);
      if (at === -1) return false;
      run = 0;
    } else if (c >= DIGIT_0 && c <= DIGIT_9) {
      if (++run >= UNSAFE_DIGITS) return true;
    } else {
      run = 0;
    }
  }
  return false;
}

function quoteUnsafe(literal: string): string {
  return Number.isSafeInteger(Number(literal)) ? literal : `"${literal}"`;
}

/** The index of the quote that ends the string opened at `open`, -1 if none does. */
function closingQuote(text: string, open: number): number {
  for (let at = open + 1; ; at++) {
    at = text.indexOf('"', at);
    if (at === -1) return -1;
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
}
