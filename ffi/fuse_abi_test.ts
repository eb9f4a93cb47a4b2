import assert from "node:assert/strict";
import { commandOnPath, pathExists, systemTest } from "../test/prereq.ts";
import { expectedLayoutValues, headerLayoutValues } from "../test/fixtures/c_layouts.ts";
import {
  FALLOC_CONSTANTS,
  FALLOC_HEADERS,
  FUSE_CONSTANTS,
  FUSE_KERNEL_MINOR_VERSION,
  FUSE_KERNEL_VERSION,
  FUSE_LAYOUT_HEADERS,
  FUSE_LAYOUTS,
} from "./fuse_abi.ts";

systemTest(
  "FUSE struct layouts and constants match the installed <linux/fuse.h>",
  [commandOnPath("gcc"), pathExists("/usr/include/linux/fuse.h")],
  async () => {
    const tables = {
      headers: [...FUSE_LAYOUT_HEADERS, ...FALLOC_HEADERS],
      layouts: FUSE_LAYOUTS,
      constants: { ...FUSE_CONSTANTS, ...FALLOC_CONSTANTS, FUSE_KERNEL_VERSION },
    };
    const actual = await headerLayoutValues({
      ...tables,
      constants: { ...tables.constants, FUSE_KERNEL_MINOR_VERSION },
    });
    // The header may be newer than the minor version spirit speaks; it must not be older.
    const headerMinor = actual.FUSE_KERNEL_MINOR_VERSION ?? 0;
    delete actual.FUSE_KERNEL_MINOR_VERSION;
    assert.deepEqual(actual, expectedLayoutValues(tables));
    assert.ok(
      headerMinor >= FUSE_KERNEL_MINOR_VERSION,
      `the header speaks 7.${headerMinor}, older than the 7.${FUSE_KERNEL_MINOR_VERSION} spirit assumes`,
    );
  },
);
