/**
 * The real-program playbooks (playbooks/real/): they validate as written, and a shortened
 * two-program run (memcached + loadgen, the scan program) works end to end through
 * `runPlaybook` on a loop-device swap of its own, leaving nothing behind.
 */
import assert from "node:assert/strict";
import { loadPlaybook } from "../controller/playbook/load.ts";
import type { App, Playbook } from "../controller/playbook/types.ts";
import { readEpochs } from "../controller/results/read.ts";
import { runPlaybook } from "../controller/run/run.ts";
import { SCAN_PROGRAM } from "../playbooks/real/_apps.ts";
import { AGENT_SYSTEM_REQUIRES } from "./fixtures/agent_harness.ts";
import { LoopSwap } from "./fixtures/loop_swap.ts";
import { buildCProgram } from "./fixtures/mem_toucher.ts";
import { commandOnPath, systemTest } from "./prereq.ts";

const REAL = new URL("../playbooks/real/", import.meta.url).pathname;
const PLAYBOOKS = ["memcached", "redis", "scan", "mbw", "mix2", "mix3"];

Deno.test("the real playbooks validate, name no swap device and drive their servers", async () => {
  for (const name of PLAYBOOKS) {
    const playbook = await loadPlaybook(`${REAL}${name}.ts`);
    assert.ok(playbook.apps.length >= 1, name);
    for (const app of playbook.apps) {
      assert.ok(app.kind === "command", `${name}/${app.name}`);
      assert.equal(app.command.cgroup.swapDevices, undefined, `${name}/${app.name} names a device`);
      assert.notEqual(app.command.throughput.kind, "none", `${name}/${app.name} has no throughput`);
      const program = app.command.argv?.[0] ?? "";
      if (program === "memcached" || program === "redis-server") {
        const driver = app.command.driver;
        assert.ok(driver?.kind === "loadgen", `${name}/${app.name} has no loadgen driver`);
        const argv = app.command.argv ?? [];
        const flag = argv.findIndex((a) => a === "--port" || a === "-p");
        const port = argv[flag + 1];
        assert.ok(driver.server.kind === "tcp");
        assert.equal(String(driver.server.port), port, `${name}/${app.name} driver port`);
      }
    }
  }
});

/** mix2, shortened: fewer keys (a quicker fill), a smaller scan, its scan program at `scan`. */
function shortened(playbook: Playbook, options: { scan: string; output: string }): Playbook {
  const apps = playbook.apps.map((app): App => {
    if (app.kind !== "command") return app;
    const argv = app.command.argv ?? [];
    if (argv[0] === SCAN_PROGRAM) {
      return { ...app, command: { ...app.command, argv: [options.scan, "160"] } };
    }
    const driver = app.command.driver;
    if (driver?.kind !== "loadgen") return app;
    return {
      ...app,
      command: {
        ...app.command,
        driver: { ...driver, workload: { ...driver.workload, keys: 120_000 } },
      },
    };
  });
  return { ...playbook, apps, output: options.output };
}

systemTest(
  "the two-program real playbook runs end to end: throughput, traffic and throttles for both",
  [...AGENT_SYSTEM_REQUIRES, commandOnPath("memcached")],
  async () => {
    await using _swap = await LoopSwap.create(1024 * 2 ** 20);
    // Built here: the test does not rely on setup.ts.
    const scan = await buildCProgram(`${REAL}scan.c`, "scan");
    const output = await Deno.makeTempDir({ prefix: "spirit-real-run-" });
    try {
      const playbook = shortened(
        await loadPlaybook(`${REAL}mix2.ts`, { policy: "static", epoch: "3s", duration: "45s" }),
        { scan: scan.path, output },
      );
      const result = await runPlaybook(playbook, { output: "quiet" });
      assert.ok(result.runDir !== null);
      const measured = (await readEpochs(result.runDir)).records.filter((r) =>
        r.phase === "measure"
      );
      assert.ok(measured.length >= 3, `${measured.length} measured epochs`);
      for (const name of ["memcached", "scan"]) {
        const epochs = measured.flatMap((r) => r.apps.filter((a) => a.name === name));
        assert.ok(
          epochs.every((a) => a.enforced?.bandwidth === true),
          `${name} not throttled: ${JSON.stringify(epochs.map((a) => a.enforced ?? null))}`,
        );
        const withOps = epochs.filter((a) => (a.opsPerSec ?? 0) > 0);
        assert.ok(withOps.length >= 2, `${name}: throughput in ${withOps.length} epochs`);
        const traffic = epochs.reduce((sum, a) => sum + a.used.remoteReadMbps, 0);
        assert.ok(traffic > 0, `${name}: no swap-in recorded`);
      }
      for (const record of measured) {
        const cache = record.apps.reduce((sum, a) => sum + a.cacheMiB, 0);
        assert.ok(cache <= 192 + 1e-6, `epoch ${record.epoch}: ${cache} MiB allocated`);
      }
      const { runId } = JSON.parse(await Deno.readTextFile(`${result.runDir}/run.json`));
      const leftovers = await new Deno.Command("pgrep", { args: ["-af", runId], stdout: "piped" })
        .output();
      assert.equal(new TextDecoder().decode(leftovers.stdout).trim(), "", "processes left");
      for (const hierarchy of ["memory", "blkio"]) {
        for (const app of ["memcached", "memcached+driver", "scan"]) {
          const dir = `/sys/fs/cgroup/${hierarchy}/spirit/${app}`;
          await assert.rejects(Deno.stat(dir), Deno.errors.NotFound, `${dir} left behind`);
        }
      }
    } finally {
      await scan.remove();
      await Deno.remove(output, { recursive: true });
    }
  },
);
