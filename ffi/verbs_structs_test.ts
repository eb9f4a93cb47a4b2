import assert from "node:assert/strict";
import { commandOnPath, pathExists, systemTest } from "../test/prereq.ts";
import { CONSTANTS, LAYOUT_HEADERS, LAYOUTS } from "./verbs_structs.ts";

const TRIPLET = Deno.build.arch === "x86_64" ? "x86_64-linux-gnu" : "aarch64-linux-gnu";
const HEADER_PREREQS = [
  commandOnPath("gcc"),
  pathExists("/usr/include/infiniband/verbs.h"), // libibverbs-dev
  pathExists("/usr/include/rdma/rdma_cma.h"), // librdmacm-dev
  pathExists(`/usr/include/${TRIPLET}/ffi.h`), // libffi-dev
];

/** C source printing `{"<key>": value, ...}` for every offset, size and constant in the tables. */
function layoutProgram(): string {
  const lines: string[] = [];
  for (const [name, layout] of Object.entries(LAYOUTS)) {
    lines.push(`  emit("${name}/sizeof", sizeof(${layout.cType}));`);
    for (const field of Object.keys(layout.fields)) {
      lines.push(`  emit("${name}/${field}", offsetof(${layout.cType}, ${field}));`);
    }
  }
  for (const name of Object.keys(CONSTANTS)) lines.push(`  emit("${name}", (long long)(${name}));`);
  return [
    ...LAYOUT_HEADERS.map((h) => `#include <${h}>`),
    "#include <stddef.h>",
    "#include <stdio.h>",
    "static int first = 1;",
    'static void emit(const char *k, long long v) { printf("%s\\"%s\\": %lld", first ? "{" : ", ", k, v); first = 0; }',
    "int main(void) {",
    ...lines,
    '  printf("}\\n");',
    "  return 0;",
    "}",
  ].join("\n");
}

function expectedValues(): Record<string, number> {
  const expected: Record<string, number> = {};
  for (const [name, layout] of Object.entries(LAYOUTS)) {
    expected[`${name}/sizeof`] = layout.size;
    for (const [field, offset] of Object.entries(layout.fields)) {
      expected[`${name}/${field}`] = offset;
    }
  }
  for (const [name, value] of Object.entries(CONSTANTS)) expected[name] = value;
  return expected;
}

systemTest(
  "verbs struct layouts and constants match the installed rdma-core and libffi headers",
  HEADER_PREREQS,
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "spirit-layout-" });
    try {
      await Deno.writeTextFile(`${dir}/layout.c`, layoutProgram());
      const compile = await new Deno.Command("gcc", {
        args: [`${dir}/layout.c`, "-o", `${dir}/layout`],
        stderr: "piped",
      }).output();
      assert.equal(compile.code, 0, new TextDecoder().decode(compile.stderr));
      const run = await new Deno.Command(`${dir}/layout`, { stdout: "piped" }).output();
      assert.equal(run.code, 0);
      const actual = JSON.parse(new TextDecoder().decode(run.stdout));
      assert.deepEqual(actual, expectedValues());
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
