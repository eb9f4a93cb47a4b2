import assert from "node:assert/strict";
import { LocalConnector } from "../connectors/local.ts";
import { ROOT, systemTest } from "../../test/prereq.ts";
import { createPrivateHostDir, HostDirError } from "./host_dir.ts";

const host = new LocalConnector("testhost");

async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "spirit-host-dir-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("createPrivateHostDir creates the run directory with mode 0700", async () => {
  await inTempDir(async (dir) => {
    await createPrivateHostDir(host, `${dir}/run`);
    const stat = await Deno.stat(`${dir}/run`);
    assert.ok(stat.isDirectory);
    assert.equal(stat.mode! & 0o7777, 0o700);
  });
});

Deno.test("createPrivateHostDir accepts an existing private directory", async () => {
  await inTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/run`, { mode: 0o700 });
    await Deno.chmod(`${dir}/run`, 0o700);
    await createPrivateHostDir(host, `${dir}/run`);
  });
});

Deno.test("createPrivateHostDir refuses an existing directory with another mode, naming it", async () => {
  await inTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/run`);
    await Deno.chmod(`${dir}/run`, 0o755);
    await assert.rejects(
      createPrivateHostDir(host, `${dir}/run`),
      (error: unknown) =>
        error instanceof HostDirError && error.path === `${dir}/run` &&
        error.message.includes(`Run directory ${dir}/run on testhost has mode 0755`),
    );
    assert.equal((await Deno.stat(`${dir}/run`)).mode! & 0o777, 0o755);
  });
});

Deno.test("createPrivateHostDir refuses a symbolic link", async () => {
  await inTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/elsewhere`, { mode: 0o700 });
    await Deno.symlink(`${dir}/elsewhere`, `${dir}/run`);
    await assert.rejects(
      createPrivateHostDir(host, `${dir}/run`),
      (error: unknown) => error instanceof HostDirError && /is a symbolic link/.test(error.message),
    );
  });
});

// Only root can give a directory away.
systemTest("createPrivateHostDir refuses a directory owned by another user", [ROOT], async () => {
  await inTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/run`, { mode: 0o700 });
    await Deno.chmod(`${dir}/run`, 0o700);
    await Deno.chown(`${dir}/run`, 65534, 65534);
    await assert.rejects(
      createPrivateHostDir(host, `${dir}/run`),
      (error: unknown) =>
        error instanceof HostDirError && /is owned by uid 65534, not uid 0/.test(error.message),
    );
  });
});

Deno.test("createPrivateHostDir refuses a file in its place", async () => {
  await inTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/run`, "");
    await assert.rejects(
      createPrivateHostDir(host, `${dir}/run`),
      (error: unknown) => error instanceof HostDirError && /not a directory/.test(error.message),
    );
  });
});
