import assert from "node:assert/strict";
import { LocalConnector } from "../connectors/local.ts";
import type { Connector, ExecOptions, PutOptions } from "../connectors/types.ts";
import { type Artifact, type Artifacts, deploy, DeployError, KEEP_BUNDLES } from "./deploy.ts";
import { encodeHex } from "./hex.ts";

/** This machine, with the cache script's environment set (HOME, TMPDIR), counting copies. */
class TestHost implements Connector {
  readonly host = "testhost";
  readonly puts: string[] = [];
  readonly #local = new LocalConnector("testhost");
  readonly #env: string[];
  constructor(env: string[]) {
    this.#env = env;
  }
  exec(argv: readonly string[], options?: ExecOptions) {
    return this.#local.exec(["env", "-u", "XDG_CACHE_HOME", ...this.#env, ...argv], options);
  }
  spawn(argv: readonly string[]) {
    return this.#local.spawn(argv);
  }
  put(localPath: string, remotePath: string, options?: PutOptions) {
    this.puts.push(remotePath.endsWith("/deno") ? "runtime" : "bundle");
    return this.#local.put(localPath, remotePath, options);
  }
  get(remotePath: string, localPath: string) {
    return this.#local.get(remotePath, localPath);
  }
  close() {
    return Promise.resolve();
  }
  [Symbol.asyncDispose]() {
    return this.close();
  }
}

async function artifact(dir: string, name: string, content: string): Promise<Artifact> {
  const path = `${dir}/${name}`;
  const data = new TextEncoder().encode(content);
  await Deno.writeFile(path, data);
  const sha256 = encodeHex(new Uint8Array(await crypto.subtle.digest("SHA-256", data)));
  return { path, sha256, bytes: data.length };
}

async function withDirs(fn: (local: string, home: string) => Promise<void>): Promise<void> {
  const local = await Deno.makeTempDir({ prefix: "spirit-deploy-local-" });
  const home = await Deno.makeTempDir({ prefix: "spirit-deploy-home-" });
  try {
    await fn(local, home);
  } finally {
    await Deno.remove(local, { recursive: true });
    await Deno.remove(home, { recursive: true });
  }
}

async function shipped(local: string, bundleText = "bundle v1"): Promise<Artifacts> {
  return {
    runtime: await artifact(local, "deno", "#!/bin/sh\necho fake deno\n"),
    bundle: await artifact(local, `spirit-${bundleText.length}.js`, bundleText),
  };
}

Deno.test("deploy copies the runtime and bundle into a private cache under HOME", async () => {
  await withDirs(async (local, home) => {
    const host = new TestHost([`HOME=${home}`]);
    const files = await shipped(local);
    const outcome = await deploy(host, { artifacts: files });
    assert.equal(outcome.cacheDir, `${home}/.cache/spirit`);
    assert.deepEqual(outcome.copied, ["runtime", "bundle"]);
    assert.equal((await Deno.stat(outcome.cacheDir)).mode! & 0o777, 0o700);
    const runtime = `${home}/.cache/spirit/runtime/${files.runtime.sha256}/deno`;
    assert.deepEqual(outcome.runtime.command(["agent"]), [
      runtime,
      "run",
      "-A",
      `${home}/.cache/spirit/bundle/${files.bundle.sha256}/spirit.js`,
      "agent",
    ]);
    assert.equal(await Deno.readTextFile(runtime), "#!/bin/sh\necho fake deno\n");
  });
});

Deno.test("deploy reuses verified cache entries without copying", async () => {
  await withDirs(async (local, home) => {
    const host = new TestHost([`HOME=${home}`]);
    const files = await shipped(local);
    await deploy(host, { artifacts: files });
    const again = await deploy(host, { artifacts: files });
    assert.deepEqual(again.copied, []);
    assert.deepEqual(host.puts, ["runtime", "bundle"]);
  });
});

Deno.test("deploy detects a corrupted cached file and copies it again", async () => {
  await withDirs(async (local, home) => {
    const host = new TestHost([`HOME=${home}`]);
    const files = await shipped(local);
    const first = await deploy(host, { artifacts: files });
    const cached = `${first.cacheDir}/bundle/${files.bundle.sha256}/spirit.js`;
    await Deno.writeTextFile(cached, "tampered");
    const second = await deploy(host, { artifacts: files });
    assert.deepEqual(second.replaced, ["bundle"]);
    assert.deepEqual(second.copied, ["bundle"]);
    assert.equal(await Deno.readTextFile(cached), "bundle v1");
  });
});

Deno.test("deploy of a new bundle does not copy the runtime again", async () => {
  await withDirs(async (local, home) => {
    const host = new TestHost([`HOME=${home}`]);
    await deploy(host, { artifacts: await shipped(local, "bundle v1") });
    const outcome = await deploy(host, { artifacts: await shipped(local, "bundle v2!") });
    assert.deepEqual(outcome.copied, ["bundle"]);
    assert.deepEqual(host.puts, ["runtime", "bundle", "bundle"]);
  });
});

Deno.test("deploy prunes all but the most recently used bundles", async () => {
  await withDirs(async (local, home) => {
    const host = new TestHost([`HOME=${home}`]);
    const first = await shipped(local, "bundle 0");
    await deploy(host, { artifacts: first });
    // Make the first entry clearly older than the rest (mtime resolution).
    const old = new Date(Date.now() - 3_600_000);
    await Deno.utime(`${home}/.cache/spirit/bundle/${first.bundle.sha256}`, old, old);
    let last: Awaited<ReturnType<typeof deploy>> | undefined;
    for (let i = 1; i <= KEEP_BUNDLES; i++) {
      last = await deploy(host, { artifacts: await shipped(local, `bundle ${"#".repeat(i)}`) });
    }
    const entries = [...Deno.readDirSync(`${home}/.cache/spirit/bundle`)].map((e) => e.name);
    assert.equal(entries.length, KEEP_BUNDLES);
    assert.ok(!entries.includes(first.bundle.sha256));
    assert.deepEqual(last?.pruned, [`${home}/.cache/spirit/bundle/${first.bundle.sha256}`]);
  });
});

Deno.test("deploy removes cache entries of the first layout unchanged for two days", async () => {
  await withDirs(async (local, home) => {
    const stale = `${home}/.cache/spirit/0123456789abcdef`;
    const recent = `${home}/.cache/spirit/fedcba9876543210`;
    await Deno.mkdir(stale, { recursive: true });
    await Deno.mkdir(recent, { recursive: true });
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    await Deno.utime(stale, twoDaysAgo, twoDaysAgo);
    const outcome = await deploy(new TestHost([`HOME=${home}`]), {
      artifacts: await shipped(local),
    });
    assert.deepEqual(outcome.pruned, [stale]);
    await assert.rejects(Deno.stat(stale), Deno.errors.NotFound);
    assert.ok((await Deno.stat(recent)).isDirectory);
  });
});

Deno.test("deploy without HOME uses a private directory under TMPDIR", async () => {
  await withDirs(async (local, tmp) => {
    const host = new TestHost(["-u", "HOME", `TMPDIR=${tmp}`]);
    const outcome = await deploy(host, { artifacts: await shipped(local) });
    const uid = Deno.uid();
    assert.equal(outcome.cacheDir, `${tmp}/spirit-cache-${uid}`);
    assert.equal((await Deno.stat(outcome.cacheDir)).mode! & 0o777, 0o700);
  });
});

Deno.test("deploy refuses a cache directory that is a symbolic link", async () => {
  await withDirs(async (local, tmp) => {
    const elsewhere = `${tmp}/elsewhere`;
    await Deno.mkdir(elsewhere);
    await Deno.symlink(elsewhere, `${tmp}/spirit-cache-${Deno.uid()}`);
    const host = new TestHost(["-u", "HOME", `TMPDIR=${tmp}`]);
    await assert.rejects(
      deploy(host, { artifacts: await shipped(local) }),
      (error: unknown) =>
        error instanceof DeployError &&
        error.message.includes(`${tmp}/spirit-cache-${Deno.uid()} is a symbolic link`),
    );
    assert.deepEqual(host.puts, []);
  });
});

Deno.test("deploy refuses a parent directory others may write to without a sticky bit", async () => {
  await withDirs(async (local, tmp) => {
    const open = `${tmp}/open`;
    await Deno.mkdir(open);
    await Deno.chmod(open, 0o777);
    const host = new TestHost(["-u", "HOME", `TMPDIR=${open}`]);
    await assert.rejects(
      deploy(host, { artifacts: await shipped(local) }),
      (error: unknown) =>
        error instanceof DeployError &&
        error.message.includes(`${open} has mode 0777: others may write to it`),
    );
    assert.deepEqual(host.puts, []);
  });
});

Deno.test("deploy fails naming the file when a copy does not verify", async () => {
  await withDirs(async (local, home) => {
    const files = await shipped(local);
    // The shipped file changes after it was hashed: what lands on the host is not what was meant.
    await Deno.writeTextFile(files.bundle.path, "changed after hashing");
    await assert.rejects(
      deploy(new TestHost([`HOME=${home}`]), { artifacts: files }),
      (error: unknown) =>
        error instanceof DeployError && /copied bundle .* does not verify/.test(error.message),
    );
    const cached = `${home}/.cache/spirit/bundle/${files.bundle.sha256}/spirit.js`;
    await assert.rejects(Deno.stat(cached), Deno.errors.NotFound);
  });
});

/** A PATH directory whose `openssl` logs each file it hashes, then hashes it with sha256sum. */
async function countingDigest(
  dir: string,
): Promise<{ path: string; hashed: () => Promise<string[]> }> {
  const log = `${dir}/hashed.log`;
  await Deno.writeTextFile(log, "");
  // The cache script calls `openssl dgst -sha256 -r -- FILE` when openssl is on PATH.
  await Deno.writeTextFile(
    `${dir}/openssl`,
    `#!/bin/sh\nprintf '%s\\n' "$5" >> '${log}'\nexec sha256sum -- "$5"\n`,
    { mode: 0o755 },
  );
  return {
    path: `${dir}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
    hashed: async () => (await Deno.readTextFile(log)).split("\n").filter((l) => l !== ""),
  };
}

Deno.test("deploy does not hash an unchanged verified file again", async () => {
  await withDirs(async (local, home) => {
    const digest = await countingDigest(local);
    const host = new TestHost([`HOME=${home}`, `PATH=${digest.path}`]);
    const files = await shipped(local);
    const first = await deploy(host, { artifacts: files });
    const runtime = `${first.cacheDir}/runtime/${files.runtime.sha256}/deno`;
    // Hashed once after copying; the probe of the next deploys takes it from the stamp.
    assert.equal((await digest.hashed()).filter((f) => f === runtime).length, 1);
    await deploy(host, { artifacts: files });
    await deploy(host, { artifacts: files });
    assert.equal((await digest.hashed()).filter((f) => f === runtime).length, 1);
    assert.deepEqual(host.puts, ["runtime", "bundle"]);
  });
});

Deno.test("deploy hashes a changed file again, even with its size and mtime put back", async () => {
  await withDirs(async (local, home) => {
    const host = new TestHost([`HOME=${home}`]);
    const files = await shipped(local);
    const first = await deploy(host, { artifacts: files });
    const cached = `${first.cacheDir}/bundle/${files.bundle.sha256}/spirit.js`;
    const before = await Deno.stat(cached);
    await Deno.writeTextFile(cached, "bundle v2"); // same length as "bundle v1"
    await Deno.utime(cached, before.atime ?? new Date(), before.mtime ?? new Date());
    const second = await deploy(host, { artifacts: files });
    assert.deepEqual(second.replaced, ["bundle"]);
    assert.equal(await Deno.readTextFile(cached), "bundle v1");
  });
});

Deno.test("deploy refuses a host of another architecture before copying anything", async () => {
  await withDirs(async (local, home) => {
    // A runtime built for a machine this host is not.
    const host = new TestHost([`HOME=${home}`]);
    await assert.rejects(
      deploy(host, { artifacts: await shipped(local), machines: ["riscv64"] }),
      (error: unknown) =>
        error instanceof DeployError &&
        error.message.includes(
          `missing runtime: the host is ${Deno.build.arch}, this controller ships a Deno for riscv64`,
        ),
    );
    assert.deepEqual(host.puts, []);
  });
});

Deno.test("deploy runs a command in the probe's round trip when the cache is current", async () => {
  await withDirs(async (local, home) => {
    const host = new TestHost([`HOME=${home}`]);
    const files = await shipped(local);
    const then = {
      argv: ["sh", "-c", 'echo "runtime=$SPIRIT_RUNTIME $SPIRIT_RUNTIME_STAMP"; cat; exit 3'],
      stdin: "from stdin\n",
    };
    // Nothing cached yet: the files are copied and the command does not run.
    const first = await deploy(host, { artifacts: files, then });
    assert.equal(first.then, null);
    const second = await deploy(host, { artifacts: files, then });
    assert.deepEqual(second.copied, []);
    // The runtime's verified stamp comes along (inode, size, modification and change times).
    const info = await Deno.stat(second.paths.deno);
    const stamp = second.then?.stdout.split("\n")[0]?.split(" ").slice(1) ?? [];
    assert.deepEqual(stamp.slice(0, 2), [String(info.ino), String(info.size)]);
    assert.equal(stamp.length, 8, second.then?.stdout);
    assert.deepEqual({ ...second.then, stdout: second.then?.stdout.split("\n").slice(1) }, {
      stdout: ["from stdin", ""],
      stderr: "",
      code: 3,
    });
    assert.ok(second.then?.stdout.startsWith(`runtime=${second.paths.deno} `));
  });
});
