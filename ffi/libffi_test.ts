import assert from "node:assert/strict";
import { bindFnPointerCall, bindLibffiCall } from "./libffi.ts";
import { pathExists, systemTest } from "../test/prereq.ts";

const LIBFFI = Deno.build.arch === "x86_64"
  ? "/usr/lib/x86_64-linux-gnu/libffi.so.8"
  : "/usr/lib/aarch64-linux-gnu/libffi.so.8";

/** A C-callable function `int f(void *p, int n)` returning `n * 2 + (p == NULL ? 0 : 1)`. */
function callback() {
  return new Deno.UnsafeCallback(
    { parameters: ["pointer", "i32"], result: "i32" } as const,
    (p, n) => n * 2 + (p === null ? 0 : 1),
  );
}

systemTest("libffi bound calls pass pointer and int arguments and return the int", [
  pathExists(LIBFFI),
], () => {
  const cb = callback();
  try {
    const buffer = new Uint8Array(8);
    const call = bindLibffiCall(cb.pointer, [
      { type: "pointer", value: Deno.UnsafePointer.of(buffer) },
      { type: "i32", value: -21 },
    ]);
    assert.equal(call.call(), -41);
    assert.equal(call.call(), -41, "a bound call can be repeated");
  } finally {
    cb.close();
  }
});

Deno.test("UnsafeFnPointer bound calls pass pointer and int arguments and return the int", () => {
  const cb = callback();
  try {
    const call = bindFnPointerCall(cb.pointer, [
      { type: "pointer", value: null },
      { type: "i32", value: 50 },
    ]);
    assert.equal(call.call(), 100);
  } finally {
    cb.close();
  }
});
