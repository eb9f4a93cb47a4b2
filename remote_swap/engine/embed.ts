/**
 * Regenerates `source.ts` from `swap_engine.c`, so a bundled spirit (deployed to compute nodes
 * without the checkout) still carries the engine's source:
 * `deno run -A remote_swap/engine/embed.ts`. `source_test.ts` fails when the two differ.
 * @module
 */

/** The text of source.ts for a given C source: one JSON string per line of C. */
export function embeddedModule(source: string): string {
  const lines = source.split("\n").map((line) => `  ${JSON.stringify(line)},`);
  return [
    "// Generated from swap_engine.c by `deno run -A remote_swap/engine/embed.ts`; do not edit.",
    "/** The swap engine's C source (see swap_engine.c). */",
    "export const SWAP_ENGINE_SOURCE: string = [",
    ...lines,
    '].join("\\n");',
    "",
  ].join("\n");
}

if (import.meta.main) {
  const source = await Deno.readTextFile(new URL("./swap_engine.c", import.meta.url));
  await Deno.writeTextFile(new URL("./source.ts", import.meta.url), embeddedModule(source));
}
