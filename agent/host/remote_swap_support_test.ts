import assert from "node:assert/strict";
import {
  gatherRemoteSwapSupport,
  parseZswapEnabled,
  type RemoteSwapSupportPaths,
} from "./remote_swap_support.ts";

Deno.test("parseZswapEnabled reads Y/N and the old 1/0 form", () => {
  assert.equal(parseZswapEnabled("Y\n"), true);
  assert.equal(parseZswapEnabled("N\n"), false);
  assert.equal(parseZswapEnabled("1"), true);
  assert.equal(parseZswapEnabled("0"), false);
  assert.throws(() => parseZswapEnabled("maybe"), /Unexpected zswap "enabled" value "maybe"/);
});

/** A fake host: /dev/null stands in for a character device, files for everything else. */
async function withHost(
  fn: (
    dir: string,
    paths: (overrides: Partial<RemoteSwapSupportPaths>) => RemoteSwapSupportPaths,
  ) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "spirit-swap-support-" });
  try {
    await fn(dir, (overrides) => ({
      devFuse: "/dev/null",
      loopControl: "/dev/null",
      zswapEnabled: `${dir}/zswap-enabled`,
      searchPath: [`${dir}/bin`],
      ...overrides,
    }));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("remote swap support finds character devices, fusermount3 and zswap's state", () =>
  withHost(async (dir, paths) => {
    await Deno.mkdir(`${dir}/bin`);
    await Deno.writeTextFile(`${dir}/bin/fusermount3`, "#!/bin/sh\n", { mode: 0o755 });
    await Deno.writeTextFile(`${dir}/zswap-enabled`, "Y\n");
    assert.deepEqual(await gatherRemoteSwapSupport(paths({})), {
      devFuse: true,
      loopControl: "usable",
      fusermount3: `${dir}/bin/fusermount3`,
      zswapEnabled: true,
    });
  }));

Deno.test("remote swap support reports what is missing", () =>
  withHost(async (dir, paths) => {
    await Deno.mkdir(`${dir}/bin`);
    // Not executable: not a usable fusermount3.
    await Deno.writeTextFile(`${dir}/bin/fusermount3`, "", { mode: 0o644 });
    await Deno.writeTextFile(`${dir}/not-a-device`, "");
    assert.deepEqual(
      await gatherRemoteSwapSupport(
        paths({ devFuse: `${dir}/not-a-device`, loopControl: `${dir}/missing` }),
      ),
      { devFuse: false, loopControl: "absent", fusermount3: null, zswapEnabled: null },
    );
  }));
