/**
 * `spirit run` over RDMA with the run's secret, end to end on this machine: the controller
 * starts `spirit memserver --transport rdma --token-file ...` and the far-memory workloads reach
 * it with the secret's proof in the CM private data. RDMA here is the fake_rdma TEST DOUBLE,
 * loaded by every process of the run through SPIRIT_LIBIBVERBS/SPIRIT_LIBRDMACM.
 */
import assert from "node:assert/strict";
import { readEpochs } from "../controller/results/read.ts";
import { processesMentioning } from "./fixtures/processes.ts";
import { FAKE_RDMA_PREREQS, useFakeRdmaInProcess } from "./fixtures/fake_rdma/build.ts";
import { commandOnPath, systemTest } from "./prereq.ts";

const ROOT = new URL("..", import.meta.url).pathname;

systemTest(
  "spirit run serves a transport rdma playbook's workloads over RDMA with the run's secret",
  [...FAKE_RDMA_PREREQS, commandOnPath("pgrep")],
  async () => {
    await using fake = await useFakeRdmaInProcess();
    const dir = await Deno.makeTempDir({ prefix: "spirit-rdma-run-" });
    try {
      const playbook = `${dir}/rdma.ts`;
      await Deno.writeTextFile(
        playbook,
        `import { definePlaybook } from "${ROOT}mod.ts";\nexport default definePlaybook(${
          JSON.stringify({
            name: "rdma-tiny",
            hosts: {
              mem: { role: "memory", memserver: { capacity: "64MiB", transport: "rdma", port: 0 } },
              node: { role: "compute", memoryNode: "mem", cache: "8MiB", bandwidth: "80Mbps" },
            },
            apps: [
              { name: "kv", host: "node", workload: { kind: "kv", dataset: "16MiB" } },
              { name: "scan", host: "node", workload: { kind: "stream", dataset: "16MiB" } },
            ],
            epoch: "1s",
            warmup: "2s",
            duration: "6s",
            output: `${dir}/results`,
          })
        });\n`,
      );
      const run = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", `${ROOT}controller/cli.ts`, "run", playbook, "--json-log"],
        env: fake.env,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(run.stderr);
      assert.equal(run.code, 0, stderr);
      const lines = new TextDecoder().decode(run.stdout).trim().split("\n").map((l) =>
        JSON.parse(l)
      );
      const events = lines.filter((l) => l.type === "event");
      assert.ok(
        events.some((e) =>
          e.kind === "start" && /memory server on port \d+ \(rdma\)/.test(e.message)
        ),
        JSON.stringify(events),
      );
      assert.ok(!events.some((e) => e.kind === "fault"), JSON.stringify(events));
      const done = lines.find((l) => l.type === "done");
      assert.ok(done !== undefined);
      // The server listens only for RDMA: any throughput means the workloads got remote memory
      // over RDMA, admitted by the proof of the run's secret.
      const { records } = await readEpochs(done.runDir);
      const measured = records.filter((r) => r.phase === "measure");
      assert.ok(measured.length >= 2, `${measured.length} measured epochs`);
      for (const record of measured) {
        for (const app of record.apps) {
          assert.ok((app.opsPerSec ?? 0) > 0, `${app.name} throughput in epoch ${record.epoch}`);
        }
      }
      // Memory was registered through the double (its shared registration table exists).
      assert.ok((await Deno.stat(`${fake.stateDir}/mrs`)).isFile);
      const { runId } = JSON.parse(await Deno.readTextFile(`${done.runDir}/run.json`));
      assert.deepEqual(await processesMentioning(runId), []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
