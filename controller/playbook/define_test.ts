import assert from "node:assert/strict";
import {
  callSite,
  definePlaybook,
  isDefinedPlaybook,
  runAsMain,
  setPlaybookRunner,
} from "./define.ts";
import { loadPlaybook } from "./load.ts";
import { PlaybookError } from "./errors.ts";

const DEFINE_URL = new URL("./define.ts", import.meta.url).href;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

const PLAYBOOK_SOURCE = `
import { definePlaybook } from "${DEFINE_URL}";
export default definePlaybook({
  name: "tiny",
  hosts: {
    mem: { role: "memory", memserver: { capacity: "64MiB" } },
    cn: { role: "compute", memoryNode: "mem", cache: "32MiB", bandwidth: "100Mbps" },
  },
  apps: [{ name: "kv", host: "cn", workload: { kind: "kv", dataset: "16MiB" } }],
  epoch: "1s",
  duration: "10s",
});
`;

async function withPlaybookDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "spirit_playbook_test_" });
  try {
    await Deno.writeTextFile(`${dir}/tiny.ts`, PLAYBOOK_SOURCE);
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function denoRun(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", CONFIG, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test("definePlaybook returns a validated playbook marked as defined", () => {
  const playbook = definePlaybook({
    name: "inline",
    hosts: {
      mem: { role: "memory", memserver: { capacity: "64MiB" } },
      cn: { role: "compute", memoryNode: "mem", cache: "32MiB", bandwidth: "100Mbps" },
    },
    apps: [{ name: "s", host: "cn", workload: { kind: "stream", dataset: "8MiB" } }],
  });
  assert.equal(playbook.epochMs, 5000);
  assert.ok(isDefinedPlaybook(playbook));
  assert.ok(!isDefinedPlaybook({ ...playbook }));
});

Deno.test("definePlaybook throws a PlaybookError for an invalid playbook", () => {
  assert.throws(
    () => definePlaybook({ name: "bad", hosts: {}, apps: [] }),
    (e) => e instanceof PlaybookError && e.issues.length === 2,
  );
});

Deno.test("callSite finds the caller's module and whether it is the module top level", () => {
  const define = `Error\n    at definePlaybook (${DEFINE_URL}:40:20)\n`;
  assert.deepEqual(callSite(`${define}    at file:///work/playbooks/x.ts:3:16`), {
    url: "file:///work/playbooks/x.ts",
    topLevel: true,
  });
  assert.deepEqual(
    callSite(
      `${define}    at file:///work/x_test.ts:3:16\n    at innerWrapped (ext:cli/40_test.js:1:1)`,
    ),
    { url: "file:///work/x_test.ts", topLevel: false },
  );
});

Deno.test("runAsMain fails with a clear error when no runner is installed", async () => {
  setPlaybookRunner(undefined);
  const playbook = definePlaybook({
    name: "norunner",
    hosts: {
      mem: { role: "memory", memserver: { capacity: "64MiB" } },
      cn: { role: "compute", memoryNode: "mem", cache: "32MiB", bandwidth: "100Mbps" },
    },
    apps: [{ name: "s", host: "cn", workload: { kind: "stream", dataset: "8MiB" } }],
  });
  await assert.rejects(
    runAsMain(playbook, { args: [], source: "x.ts" }),
    /no playbook runner is installed.*deno task spirit run/,
  );
});

Deno.test("a playbook file run as the main module is run once by the installed runner", async () => {
  await withPlaybookDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/main.ts`,
      `import { setPlaybookRunner } from "${DEFINE_URL}";
setPlaybookRunner(async (p, o) => { console.log("RUN", p.name, p.epochMs, o.args.join(",")); return 3; });
await import("./tiny.ts");`,
    );
    // The runner must be installed before the playbook module evaluates: a wrapper module that
    // imports the run loop first stands in for mod.ts here.
    await Deno.writeTextFile(
      `${dir}/with_runner.ts`,
      `import { setPlaybookRunner } from "${DEFINE_URL}";
setPlaybookRunner(async (p, o) => { console.log("RUN", p.name, p.epochMs, o.args.join(",")); return 3; });`,
    );
    await Deno.writeTextFile(
      `${dir}/tiny_main.ts`,
      `import "./with_runner.ts";\n${PLAYBOOK_SOURCE}`,
    );
    const main = await denoRun([`${dir}/tiny_main.ts`, "--policy", "static"]);
    assert.equal(main.code, 3, main.stderr);
    assert.equal(main.stdout, "RUN tiny 1000 --policy,static\n");
    // Imported (not main): validated, never run.
    const imported = await denoRun([`${dir}/main.ts`]);
    assert.equal(imported.code, 0, imported.stderr);
    assert.equal(imported.stdout, "");
  });
});

Deno.test("a playbook file run as main without a runner exits 1 naming spirit run", async () => {
  await withPlaybookDir(async (dir) => {
    const result = await denoRun([`${dir}/tiny.ts`]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Cannot run playbook "tiny".*no playbook runner is installed/);
  });
});

Deno.test("loadPlaybook imports a playbook file without running it and applies overrides", async () => {
  let ran = false;
  setPlaybookRunner(() => {
    ran = true;
    return Promise.resolve();
  });
  try {
    await withPlaybookDir(async (dir) => {
      const playbook = await loadPlaybook(`${dir}/tiny.ts`, { policy: "static", epoch: "2s" });
      assert.equal(playbook.name, "tiny");
      assert.equal(playbook.policy, "static");
      assert.equal(playbook.epochMs, 2000);
      assert.equal(ran, false);
    });
  } finally {
    setPlaybookRunner(undefined);
  }
});

Deno.test("loadPlaybook validates a plain default-exported object", async () => {
  await withPlaybookDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/plain.ts`,
      `export default { name: "plain", hosts: {}, apps: [] };`,
    );
    await assert.rejects(loadPlaybook(`${dir}/plain.ts`), (e) => {
      assert.ok(e instanceof PlaybookError);
      assert.match(e.message, /plain\.ts/);
      return true;
    });
  });
});

Deno.test("loadPlaybook reports a missing file as a PlaybookError", async () => {
  await assert.rejects(
    loadPlaybook("/nonexistent/spirit/playbook.ts"),
    (e) => e instanceof PlaybookError && /cannot import the file/.test(e.message),
  );
});
