import assert from "node:assert/strict";
import { LOADGEN_DEFAULTS } from "./options.ts";
import { keyName, RequestMix, valueOf } from "./request_mix.ts";

Deno.test("RequestMix follows the read ratio and stays in the key space", () => {
  const mix = new RequestMix({ ...LOADGEN_DEFAULTS, keys: 1000, readRatio: 0.8 }, 0);
  const keys = new Set(Array.from({ length: 1000 }, (_, i) => keyName(i)));
  let gets = 0;
  for (let i = 0; i < 10_000; i++) {
    const request = mix.next();
    if (request.op === "get") gets++;
    assert.ok(keys.has(request.key), request.key);
  }
  assert.ok(Math.abs(gets / 10_000 - 0.8) < 0.02, `${gets} gets`);
});

Deno.test("RequestMix with skew concentrates on few keys, and is seeded", () => {
  const workload = { ...LOADGEN_DEFAULTS, keys: 10_000, skew: 0.99 };
  const counts = new Map<string, number>();
  const mix = new RequestMix(workload, 1);
  for (let i = 0; i < 20_000; i++) {
    const { key } = mix.next();
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const top = [...counts.values()].sort((a, b) => b - a).slice(0, 100).reduce((a, b) => a + b);
  // The 1 % most popular keys take far more than 1 % of requests.
  assert.ok(top / 20_000 > 0.3, `top 100 keys: ${top}`);
  const again = new RequestMix(workload, 1);
  const replay = new RequestMix(workload, 1);
  for (let i = 0; i < 100; i++) assert.deepEqual(again.next(), replay.next());
});

Deno.test("valueOf makes printable values of the asked size", () => {
  const value = valueOf(300, 1);
  assert.equal(value.length, 300);
  assert.ok(value.every((b) => b >= 97 && b < 123));
});
