/**
 * System tests of the network-namespace hosts fixture itself.
 * @module
 */
import assert from "node:assert/strict";
import {
  cleanupStaleNetnsHosts,
  createNetnsHosts,
  NETNS_STATE_DIR,
} from "./fixtures/netns_hosts.ts";
import { commandOnPath, ROOT, systemTest } from "./prereq.ts";

const PREREQS = [ROOT, commandOnPath("sshd"), commandOnPath("ip")];

async function text(args: string[]): Promise<string> {
  const out = await new Deno.Command("ip", { args, stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout);
}

systemTest("netns fixture removes every namespace, link and file it created", PREREQS, async () => {
  const net = await createNetnsHosts(1);
  const { prefix, dir } = net;
  assert.match(await text(["netns", "list"]), new RegExp(prefix));
  await net.close();
  await net.close();
  assert.doesNotMatch(await text(["netns", "list"]), new RegExp(prefix));
  assert.doesNotMatch(await text(["-o", "link", "show"]), new RegExp(prefix));
  await assert.rejects(Deno.stat(dir), Deno.errors.NotFound);
});

systemTest("netns fixture cleans up the leftovers of a crashed run", PREREQS, async () => {
  const prefix = `spx${crypto.randomUUID().replaceAll("-", "").slice(0, 5)}`;
  const dead = new Deno.Command("true").spawn();
  await dead.status;
  await Deno.mkdir(`${NETNS_STATE_DIR}/${prefix}`, { recursive: true });
  await Deno.writeTextFile(`${NETNS_STATE_DIR}/${prefix}/owner.pid`, String(dead.pid));
  await new Deno.Command("ip", { args: ["netns", "add", `${prefix}-h0`] }).output();
  await new Deno.Command("ip", { args: ["link", "add", `${prefix}br`, "type", "bridge"] }).output();
  const removed = await cleanupStaleNetnsHosts();
  assert.ok(removed.includes(prefix), `removed ${removed.join(", ")}`);
  assert.doesNotMatch(await text(["netns", "list"]), new RegExp(prefix));
  assert.doesNotMatch(await text(["-o", "link", "show"]), new RegExp(prefix));
});
