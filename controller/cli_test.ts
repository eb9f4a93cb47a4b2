import assert from "node:assert/strict";
import { spirit } from "../test/fixtures/spirit_cli.ts";

const SCENARIO = new URL("../playbooks/scenarios/paper_vm.json", import.meta.url).pathname;

Deno.test("spirit --help lists every command", async () => {
  const { code, stdout } = await spirit("--help");
  assert.equal(code, 0);
  for (const command of ["allocate", "bench", "demo", "run", "check", "down", "report"]) {
    assert.match(stdout, new RegExp(`\\n\\s+${command}\\b`));
  }
});

Deno.test("spirit exits 2 with a suggestion on an unknown command", async () => {
  const { code, stderr } = await spirit("alocate");
  assert.equal(code, 2);
  assert.match(stderr, /unknown command 'alocate'/);
  assert.match(stderr, /Did you mean allocate\?/);
});

Deno.test("spirit exits 2 on an unknown flag", async () => {
  const { code, stderr } = await spirit("allocate", SCENARIO, "--polcy", "static");
  assert.equal(code, 2);
  assert.match(stderr, /unknown option '--polcy'/);
});

Deno.test("spirit allocate --json prints one document with every epoch", async () => {
  const { code, stdout } = await spirit("allocate", SCENARIO, "--epochs", "3", "--json");
  assert.equal(code, 0);
  const run = JSON.parse(stdout);
  assert.equal(run.policy, "symbiosis");
  assert.equal(run.epochs.length, 3);
  const epoch = run.epochs[2];
  assert.equal(epoch.epoch, 3);
  assert.equal(typeof epoch.elapsedMs, "number");
  assert.deepEqual(Object.keys(epoch.nodes[0]).sort(), ["converged", "id", "iterations", "prices"]);
  assert.equal(typeof epoch.nodes[0].prices.cache, "number");
  assert.deepEqual(epoch.apps.map((a: { id: string }) => a.id), ["stream", "kv", "cpu"]);
  for (
    const key of ["id", "node", "cacheMiB", "bandwidthMbps", "opsPerSec", "equalSplitOpsPerSec"]
  ) {
    assert.ok(key in epoch.apps[0], key);
  }
  assert.deepEqual(run.fairness.envyPairs, []);
  assert.deepEqual(run.fairness.sharingIncentiveViolations, []);
});

Deno.test("spirit allocate runs every policy and reports prices only for the market", async () => {
  for (const policy of ["static", "ideal", "harvest", "trade", "drf"]) {
    const { code, stdout } = await spirit("allocate", SCENARIO, "--policy", policy, "--json");
    assert.equal(code, 0, policy);
    const run = JSON.parse(stdout);
    assert.equal(run.policy, policy);
    assert.equal(run.epochs[0].nodes[0].prices.cache, null);
  }
});

Deno.test("spirit allocate exits 2 naming the JSON path of an invalid scenario", async () => {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const scenario = JSON.parse(await Deno.readTextFile(SCENARIO));
    scenario.apps[1].node = "nowhere";
    await Deno.writeTextFile(path, JSON.stringify(scenario));
    const { code, stderr } = await spirit("allocate", path);
    assert.equal(code, 2);
    assert.match(stderr, /apps\[1\]\.node: unknown node "nowhere"/);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("spirit allocate prints a readable table without --json", async () => {
  const { code, stdout } = await spirit("allocate", SCENARIO, "--policy", "static");
  assert.equal(code, 0);
  assert.match(stdout, /app\s+node\s+cache MiB/);
  assert.match(stdout, /stream\s+vm0\s+1706\.7/);
});

Deno.test("a playbook file run directly prints its usage on --help and exits 0", async () => {
  const playbook = new URL("../playbooks/local.ts", import.meta.url).pathname;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", playbook, "--help"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  assert.match(stdout, /Usage: deno run -A \S*playbooks\/local\.ts \[options\]/);
  assert.match(stdout, /--dry-run/);
});

Deno.test("a playbook file run directly exits 2 on an unknown flag", async () => {
  const playbook = new URL("../playbooks/local.ts", import.meta.url).pathname;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", playbook, "--polcy", "static"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 2);
  assert.match(new TextDecoder().decode(output.stderr), /unknown option '--polcy'/);
});
