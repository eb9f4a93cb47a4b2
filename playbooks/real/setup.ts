/**
 * Prepares this machine for the real-program playbooks, idempotently, and undoes it:
 *
 *   sudo deno run -A playbooks/real/setup.ts up [--swap-size 4GiB] [--direct-io]
 *   sudo deno run -A playbooks/real/setup.ts status
 *   sudo deno run -A playbooks/real/setup.ts down                    # swap off, files removed
 *
 * `up` installs from Debian what is missing (memcached, redis-server, mbw, gcc, coreutils'
 * stdbuf, util-linux and mount for the swap), builds playbooks/real/scan.c, and enables a
 * loop-device swap on a sparse file under /var/tmp/spirit-real-apps. The loop device is a local
 * stand-in for remote memory: by default it goes through the page cache, so swap traffic runs
 * at memory speed and the cgroup throttles (the allocations) bound it, as a fast remote memory
 * would; `--direct-io` sends it to the disk instead (on this machine's virtual disk, 4 KiB
 * random reads with direct I/O ran at about 2.3 MB/s, below any useful allocation). The loop
 * swap is only the fallback: where this machine can host spirit's remote swap device (_swap.ts;
 * `SPIRIT_REAL_SWAP=remote|loop|auto`), the playbooks run on it and `up` prepares no loop swap.
 * `down` removes the swap and the files; installed packages stay.
 * @module
 */
import { parseProcSwaps } from "../../agent/host/swaps.ts";
import { parseSizeBytes } from "../../common/units.ts";
import { REAL_APPS_DIR, REMOTE_SWAP_PRIORITY, SCAN_PROGRAM } from "./_apps.ts";
import { onPath, REAL_SWAP_ENV, realSwap } from "./_swap.ts";

const SWAP_FILE = `${REAL_APPS_DIR}/swap.img`;
const SCAN_SOURCE = new URL("./scan.c", import.meta.url).pathname;
const SWAP_PRIORITY = "32000";

/** Program on PATH -> the Debian package that provides it. */
const PROGRAMS: Record<string, string> = {
  "memcached": "memcached",
  "redis-server": "redis-server",
  "mbw": "mbw",
  "gcc": "gcc",
  "stdbuf": "coreutils",
  "losetup": "mount",
  "mkswap": "util-linux",
  "swapon": "util-linux",
};

async function run(program: string, args: string[], options: { check?: boolean } = {}) {
  const output = await new Deno.Command(program, { args, stdout: "piped", stderr: "piped" })
    .output();
  const stdout = new TextDecoder().decode(output.stdout).trim();
  if (!output.success && options.check !== false) {
    const stderr = new TextDecoder().decode(output.stderr).trim().split("\n").slice(-5).join("\n");
    throw new Error(`${program} ${args.join(" ")} failed (exit ${output.code}): ${stderr}`);
  }
  return { ok: output.success, stdout };
}

async function installMissing(): Promise<string[]> {
  const packages = [
    ...new Set(Object.entries(PROGRAMS).filter(([p]) => !onPath(p)).map(([, pkg]) => pkg)),
  ];
  if (packages.length === 0) return [];
  const install = ["install", "-y", "--no-install-recommends", ...packages];
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  const first = await new Deno.Command("apt-get", { args: install, env, stdout: "null" }).output();
  if (!first.success) {
    // A fresh machine may not have package lists yet.
    await run("apt-get", ["update"]);
    const second = await new Deno.Command("apt-get", { args: install, env, stdout: "null" })
      .output();
    if (!second.success) throw new Error(`apt-get ${install.join(" ")} failed`);
  }
  return packages;
}

async function mtimeMs(path: string): Promise<number | null> {
  try {
    return (await Deno.stat(path)).mtime?.getTime() ?? null;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

async function buildScan(): Promise<boolean> {
  const built = await mtimeMs(SCAN_PROGRAM);
  const source = await mtimeMs(SCAN_SOURCE);
  if (built !== null && source !== null && built >= source) return false;
  await Deno.mkdir(`${REAL_APPS_DIR}/bin`, { recursive: true });
  await run("gcc", ["-O2", "-Wall", "-o", SCAN_PROGRAM, SCAN_SOURCE]);
  return true;
}

/** Loop devices backed by the swap file. */
async function attachedLoops(): Promise<string[]> {
  if ((await mtimeMs(SWAP_FILE)) === null) return [];
  const { stdout } = await run("losetup", ["--noheadings", "--output", "NAME", "-j", SWAP_FILE]);
  return stdout.split("\n").map((l) => l.trim()).filter((l) => l !== "");
}

/** Active swap devices and their priorities. */
async function activeSwaps(): Promise<{ path: string; priority: number }[]> {
  return parseProcSwaps(await Deno.readTextFile("/proc/swaps"));
}

/** Paths of the active swap devices. */
async function activeSwapPaths(): Promise<string[]> {
  return (await activeSwaps()).map((s) => s.path);
}

async function swapUp(sizeBytes: number, options: { directIo: boolean }): Promise<string> {
  let [device] = await attachedLoops();
  if (device === undefined) {
    await Deno.mkdir(REAL_APPS_DIR, { recursive: true });
    const file = await Deno.open(SWAP_FILE, { create: true, write: true });
    await file.truncate(sizeBytes);
    file.close();
    const io = options.directIo ? ["--direct-io=on"] : [];
    device = (await run("losetup", ["--find", "--show", ...io, SWAP_FILE])).stdout;
    await run("mkswap", [device]);
  }
  if (!(await activeSwapPaths()).includes(device)) {
    await run("swapon", ["--priority", SWAP_PRIORITY, device]);
  }
  return device;
}

async function swapDown(): Promise<string[]> {
  const devices = await attachedLoops();
  const active = await activeSwapPaths();
  for (const device of devices) {
    if (active.includes(device)) await run("swapoff", [device]);
    await run("losetup", ["--detach", device]);
  }
  return devices;
}

async function zswapEnabled(): Promise<boolean> {
  try {
    return (await Deno.readTextFile("/sys/module/zswap/parameters/enabled")).trim() === "Y";
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

async function main(args: string[]): Promise<number> {
  const [action = "up", ...rest] = args;
  const sizeAt = rest.indexOf("--swap-size");
  const sizeText = sizeAt >= 0 ? rest[sizeAt + 1] : "4GiB";
  const directIo = rest.includes("--direct-io");
  if (!["up", "down", "status"].includes(action) || sizeText === undefined) {
    console.error("usage: setup.ts up [--swap-size SIZE] [--direct-io] | status | down");
    return 2;
  }
  if (action !== "status" && Deno.uid() !== 0) {
    console.error(`setup.ts ${action} needs root (apt-get, losetup, swapon): run it with sudo`);
    return 1;
  }
  if (action === "down") {
    const devices = await swapDown();
    await Deno.remove(REAL_APPS_DIR, { recursive: true }).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
    console.log(
      `swap ${devices.join(", ") || "(none)"} removed; ${REAL_APPS_DIR} deleted; packages kept`,
    );
    return 0;
  }
  if (action === "status") {
    const devices = await attachedLoops();
    const active = await activeSwapPaths();
    console.log(
      `packages: ${
        Object.keys(PROGRAMS).map((p) => `${p} ${onPath(p) ? "ok" : "MISSING"}`).join(", ")
      }`,
    );
    console.log(`scan: ${(await mtimeMs(SCAN_PROGRAM)) === null ? "not built" : SCAN_PROGRAM}`);
    const swap = realSwap();
    console.log(
      `playbooks swap to: ${
        swap.kind === "remote" ? "spirit's remote swap device" : `the loop swap (${swap.why})`
      }`,
    );
    console.log(
      `swap: ${
        devices.map((d) => `${d} (${active.includes(d) ? "active" : "inactive"})`).join(", ") ||
        "none"
      }; all active swap devices: ${active.join(", ") || "none"}`,
    );
    return 0;
  }
  const installed = await installMissing();
  const rebuilt = await buildScan();
  console.log(
    `packages: ${installed.length === 0 ? "all present" : `installed ${installed.join(" ")}`}`,
  );
  console.log(`scan: ${SCAN_PROGRAM}${rebuilt ? " (built)" : ""}`);
  // The loop swap is the fallback: the playbooks run on spirit's remote swap device where they can.
  const swap = realSwap();
  if (swap.kind === "remote") {
    // A loop swap left by an earlier `up` in loop mode would take pages the remote device
    // should get (the kernel spreads pages over devices of equal priority), unthrottled.
    const leftover = await swapDown();
    console.log(
      "swap: the playbooks run on spirit's remote swap device (up for each run); no loop swap " +
        `prepared (${REAL_SWAP_ENV}=loop chooses the loop swap)` +
        (leftover.length === 0 ? "" : `; removed the earlier loop swap ${leftover.join(", ")}`),
    );
    const others = (await activeSwaps()).filter((s) => s.priority >= REMOTE_SWAP_PRIORITY);
    for (const other of others) {
      console.warn(
        `warning: swap device ${other.path} (priority ${other.priority}) is used before or ` +
          `alongside the remote swap device a playbook brings up (priority ` +
          `${REMOTE_SWAP_PRIORITY}): unless it is another run's, programs swap to it ` +
          `unthrottled (swapoff ${other.path})`,
      );
    }
  } else {
    const device = await swapUp(parseSizeBytes(sizeText), { directIo });
    console.log(
      `swap: ${device} on ${SWAP_FILE} (${sizeText}, priority ${SWAP_PRIORITY}, ${
        directIo ? "direct I/O" : "through the page cache"
      }; ${swap.why})`,
    );
  }
  if (await zswapEnabled()) {
    console.warn(
      "warning: zswap is enabled: swapped pages are compressed in local RAM and bypass the swap " +
        "device and its throttles (echo N > /sys/module/zswap/parameters/enabled)",
    );
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
