/**
 * exactIntegers: JSON text whose integer literals past 2^53 reach JSON.parse quoted, so that they
 * arrive as their exact decimal digits; everything else reads as JSON.parse reads it.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { exactIntegers } from "../../src/api/jsonBody.js";

type Tree = { big: bigint } | number | string | boolean | null | Tree[] | { [key: string]: Tree };

/** JSON text of `tree`, each `{big}` written as a bare integer literal. */
function text(tree: Tree): string {
  if (tree !== null && typeof tree === "object" && "big" in tree && typeof tree.big === "bigint") return tree.big.toString();
  if (Array.isArray(tree)) return `[${tree.map(text).join(", ")}]`;
  if (tree !== null && typeof tree === "object") return `{${Object.entries(tree).map(([k, v]) => `${JSON.stringify(k)}:${text(v as Tree)}`).join(",")}}`;
  return JSON.stringify(tree);
}

const INTEGER_LITERAL = /^-?[0-9]+$/;

/** What the body parser must give for `tree`: an integer literal past 2^53 as its digits. */
function expected(tree: Tree): unknown {
  if (tree !== null && typeof tree === "object" && "big" in tree && typeof tree.big === "bigint") {
    return Number.isSafeInteger(Number(tree.big)) ? Number(tree.big) : tree.big.toString();
  }
  if (typeof tree === "number") {
    const literal = JSON.stringify(tree);
    return INTEGER_LITERAL.test(literal) && !Number.isSafeInteger(tree) ? literal : JSON.parse(literal);
  }
  if (Array.isArray(tree)) return tree.map(expected);
  if (tree !== null && typeof tree === "object") return Object.fromEntries(Object.entries(tree).map(([k, v]) => [k, expected(v as Tree)]));
  return tree;
}

const digitsHeavy = fc.stringMatching(/^[0-9a-f"\\:,\[\] .eE+-]{0,40}$/);
const { tree } = fc.letrec<{ tree: Tree; leaf: Tree }>((tie) => ({
  leaf: fc.oneof(
    fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map((big) => ({ big })),
    fc.bigInt({ min: 2n ** 53n - 3n, max: 2n ** 64n }).map((big) => ({ big })),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    digitsHeavy,
    fc.string(),
    fc.boolean(),
    fc.constant(null),
  ),
  tree: fc.oneof(
    { depthSize: "small" },
    tie("leaf"),
    fc.array(tie("tree"), { maxLength: 5 }),
    fc.dictionary(digitsHeavy, tie("tree"), { maxKeys: 5 }),
  ),
}));

describe("exactIntegers", () => {
  it("reads every integer literal past 2^53 as its digits, and all else as JSON.parse does", () => {
    fc.assert(
      fc.property(tree, (t) => {
        assert.deepEqual(JSON.parse(exactIntegers(text(t))), expected(t));
      }),
      { numRuns: 5000, seed: 0x5eed },
    );
  });

  it("leaves digits in strings, fractions and exponents alone", () => {
    const body = '{"a":"12345678901234567890","b":0.12345678901234567,"c":1e12345678901234567,"d":-9007199254740993,"e":[9007199254740993]}';
    assert.deepEqual(JSON.parse(exactIntegers(body)), {
      a: "12345678901234567890",
      b: 0.12345678901234567,
      c: Infinity,
      d: "-9007199254740993",
      e: ["9007199254740993"],
    });
  });

  it("returns a body without 16 digits in a row as it is, and a 4 MiB block body in one scan", () => {
    const plain = '{"type":"ATTESTATION","slot":"123"}';
    assert.equal(exactIntegers(plain), plain);
    const big = JSON.stringify({ tx: "0x" + "1234567890".repeat(400_000), n: 1 }).replace('"n":1', '"n":18446744073709551615');
    assert.deepEqual(JSON.parse(exactIntegers(big)).n, "18446744073709551615");
  });

  it("leaves text that is not JSON still not JSON", () => {
    for (const text of ['{"a": "' + "1".repeat(1 << 20), '{"a":"\\12345678901234567}', '{"a":"x 12345678901234567}', '"12345678901234567', "12345678901234567\""]) {
      assert.throws(() => JSON.parse(exactIntegers(text)), SyntaxError, text.slice(0, 40));
    }
  });
});
