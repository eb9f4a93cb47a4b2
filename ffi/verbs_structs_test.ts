import assert from "node:assert/strict";
import { commandOnPath, pathExists, systemTest } from "../test/prereq.ts";
import { expectedLayoutValues, headerLayoutValues } from "../test/fixtures/c_layouts.ts";
import { CONSTANTS, LAYOUT_HEADERS, LAYOUTS } from "./verbs_structs.ts";

const TRIPLET = Deno.build.arch === "x86_64" ? "x86_64-linux-gnu" : "aarch64-linux-gnu";
const HEADER_PREREQS = [
  commandOnPath("gcc"),
  pathExists("/usr/include/infiniband/verbs.h"), // libibverbs-dev
  pathExists("/usr/include/rdma/rdma_cma.h"), // librdmacm-dev
  pathExists(`/usr/include/${TRIPLET}/ffi.h`), // libffi-dev
];

systemTest(
  "verbs struct layouts and constants match the installed rdma-core and libffi headers",
  HEADER_PREREQS,
  async () => {
    const tables = { headers: LAYOUT_HEADERS, layouts: LAYOUTS, constants: CONSTANTS };
    assert.deepEqual(await headerLayoutValues(tables), expectedLayoutValues(tables));
  },
);
