import assert from "node:assert/strict";
import { SWAP_ENGINE_SOURCE } from "./source.ts";

Deno.test("swap engine source.ts embeds swap_engine.c exactly (regenerate with embed.ts)", async () => {
  const source = await Deno.readTextFile(new URL("./swap_engine.c", import.meta.url));
  assert.equal(
    SWAP_ENGINE_SOURCE,
    source,
    "source.ts is stale: run `deno run -A remote_swap/engine/embed.ts && deno fmt`",
  );
});
