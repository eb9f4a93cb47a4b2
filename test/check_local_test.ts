/**
 * `spirit check` on this machine (local hosts, no SSH): the remote-memory findings come from the
 * real facts the agent gathers here.
 */
import assert from "node:assert/strict";
import { validatePlaybook } from "../controller/playbook/validate.ts";
import type { Playbook } from "../controller/playbook/types.ts";
import { checkPlaybook, formatCheck } from "../controller/run/check.ts";
import { pathExists, ROOT, systemTest } from "./prereq.ts";

/** A local playbook whose compute host asks for a remote swap device. */
function remoteSwapPlaybook(): Playbook {
  return validatePlaybook({
    name: "check-local",
    hosts: {
      mem: { role: "memory", memserver: { capacity: "2GiB", transport: "tcp", port: 0 } },
      node: {
        role: "compute",
        memoryNode: "mem",
        cache: "8MiB",
        bandwidth: "80Mbps",
        remoteSwap: { size: "1GiB", priority: 32767 },
      },
    },
    apps: [{ name: "kv", host: "node", workload: { kind: "kv", dataset: "16MiB" } }],
    duration: "10s",
  });
}

systemTest(
  "spirit check on this machine finds it ready for a remote swap device",
  [ROOT, pathExists("/dev/fuse"), pathExists("/dev/loop-control")],
  async () => {
    const report = await checkPlaybook(remoteSwapPlaybook());
    const support = report.facts.node?.remoteSwapSupport;
    assert.equal(support?.devFuse, true);
    assert.equal(support?.loopControl, "usable");
    assert.deepEqual(report.problems, []);
    // zswap is the only warning a prepared host can still get (priority 32767 tops any swap).
    assert.deepEqual(
      report.warnings.map((w) => w.host),
      support?.zswapEnabled === true ? ["node"] : [],
    );
    assert.match(formatCheck(report), /remote swap: \/dev\/fuse yes, \/dev\/loop-control usable/);
  },
);
