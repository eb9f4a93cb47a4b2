/**
 * A host's facts for `spirit check`, read by a POSIX shell instead of a Deno start-up: the
 * script prints what it finds (proc and sys files, mostly with shell builtins, since every
 * program started is a fork and an exec), the deployed runtime's `--version` (so a runtime that
 * cannot run there is still found), the user id and the listeners of a port; the controller
 * parses it with the agent's own parsers into the same {@linkcode HostFacts} the agent reports.
 * Measured through one SSH connection here: the probe adds about 48 ms of CPU to the deploy's
 * session (28 of them the runtime's `--version`), the facts program in Deno added about 125.
 * A deployed runtime's start is tried once per boot of the host and copy of the file: after a
 * `--version` that worked, `<runtime>.ran` (in the private cache) records the runtime's verified
 * stamp, the host's boot id and the output, and later probes print that instead (on 33 hosts
 * the starts were a second of a 5.5 s check: 58 ms of CPU each, 33 at once on 2 cores).
 *
 * What the shell cannot do, it reads instead: perf counters from sysfs (a CPU PMU exposing
 * `cpu-cycles`) and `perf_event_paranoid`, where the agent opens a counter; the CPU count from
 * the process's affinity (`Cpus_allowed_list`), where the agent also honours a cgroup CPU quota.
 * @module
 */
import { chooseLayout, parseCgroupMounts, unescapeMountPath } from "../../agent/cgroup/mounts.ts";
import { parseZswapEnabled } from "../../agent/host/remote_swap_support.ts";
import { parseProcSwaps } from "../../agent/host/swaps.ts";
import { hostFactsOf } from "../../agent/host_facts.ts";
import type { HostFacts, RemoteSwapSupportFacts } from "../../agent/protocol.ts";

/**
 * The script: `sh -c FACTS_SCRIPT spirit-facts PORT` with `SPIRIT_RUNTIME` set to the Deno to
 * try; PORT is a TCP port whose listeners to list (0: none). Its output is sections, each
 * after a line `--spirit:NAME--`.
 */
export const FACTS_SCRIPT = String.raw`
port=$1
s() { printf '%s\n' "--spirit:$1--"; }
show() {
  [ -r "$1" ] || return 0
  while IFS= read -r l || [ -n "$l" ]; do printf '%s\n' "$l"; done < "$1"
}
nl='
'
# The few lines wanted from the bigger proc files, in one grep (a name before each line): the
# shell's read builtin reads a byte per system call, some 15,000 calls for these files.
found=$(grep -E '^(Uid|Cpus_allowed_list|MemTotal|KernelPageSize):| - cgroup2? ' \
  /proc/self/status /proc/meminfo /proc/self/smaps /proc/self/mountinfo 2>/dev/null)
s grep
printf '%s\n' "$found"
s listening
if [ "$port" != 0 ]; then ss -Htln "sport = :$port" 2>/dev/null; fi
s runtime
# A deployed runtime (SPIRIT_RUNTIME_STAMP set, its cache private) that started on this boot of
# the host, as this very file, is not started again: its recorded --version output stands.
key=
if [ -n "$SPIRIT_RUNTIME_STAMP" ] && [ -r /proc/sys/kernel/random/boot_id ]; then
  read -r boot < /proc/sys/kernel/random/boot_id
  key="$SPIRIT_RUNTIME_STAMP $boot"
fi
ran=
if [ -n "$key" ] && [ -f "$SPIRIT_RUNTIME.ran" ]; then
  { IFS= read -r recorded || recorded=
    if [ "$recorded" = "$key" ]; then
      ran=yes
      while IFS= read -r l || [ -n "$l" ]; do printf '%s\n' "$l"; done
      printf 'exit 0\n'
    fi
  } < "$SPIRIT_RUNTIME.ran"
fi
if [ -z "$ran" ]; then
  out=$("$SPIRIT_RUNTIME" --version 2>&1)
  code=$?
  [ -z "$out" ] || printf '%s\n' "$out"
  printf 'exit %s\n' "$code"
  if [ "$code" = 0 ] && [ -n "$key" ]; then
    printf '%s\n%s\n' "$key" "$out" > "$SPIRIT_RUNTIME.ran.$$" &&
      mv -f -- "$SPIRIT_RUNTIME.ran.$$" "$SPIRIT_RUNTIME.ran"
  fi
fi
s hostname; show /proc/sys/kernel/hostname
s osrelease; show /proc/sys/kernel/osrelease
s version; show /proc/sys/kernel/version
s arch
if [ -r /proc/sys/kernel/arch ]; then show /proc/sys/kernel/arch; else uname -m; fi
s v2controllers
set -f
IFS=$nl
for l in $found; do
  case $l in /proc/self/mountinfo:*" - cgroup2 "*)
    IFS=' '; set -- $l; IFS=$nl
    c=
    [ -r "$5/cgroup.controllers" ] && read -r c < "$5/cgroup.controllers"
    printf '%s %s\n' "$5" "$c" ;;
  esac
done
s memsw
for l in $found; do
  case $l in /proc/self/mountinfo:*" - cgroup "*)
    IFS=' '; set -- $l; IFS=$nl
    [ -e "$5/memory.memsw.limit_in_bytes" ] && printf '%s\n' "$5" ;;
  esac
done
unset IFS
set +f
s psi; [ -e /proc/pressure/memory ] && echo yes
s swaps; show /proc/swaps
s swapdevices
set --
{ read -r _; while read -r path _; do set -- "$@" "$path"; done; } < /proc/swaps
if [ $# -gt 0 ]; then
  stat -L -c '%F|%t|%T|%D|%n' -- "$@" 2>/dev/null | while IFS='|' read -r type major minor dev name; do
    case $type in
      "block special file") mm=$((0x$major)):$((0x$minor)) ;;
      *) d=$((0x$dev)); mm=$(( ((d >> 8) & 0xfff) | ((d >> 32) & ~0xfff) )):$(( (d & 0xff) | ((d >> 12) & ~0xff) )) ;;
    esac
    if [ -e "/sys/dev/block/$mm/partition" ] && [ -r "/sys/dev/block/$mm/../dev" ]; then
      read -r mm < "/sys/dev/block/$mm/../dev"
    fi
    printf '%s\t%s\n' "$mm" "$name"
  done
fi
s rdma
for d in /sys/class/infiniband/*; do [ -e "$d" ] && printf '%s\n' "${"$"}{d##*/}"; done
s paranoid; show /proc/sys/kernel/perf_event_paranoid
s pmu
for f in /sys/bus/event_source/devices/*/events/cpu-cycles \
  /sys/bus/event_source/devices/*/events/cpu_cycles; do
  [ -e "$f" ] && printf '%s\n' "$f"
done
s fuse; [ -c /dev/fuse ] && echo yes
s loopcontrol
if [ ! -c /dev/loop-control ]; then echo absent
elif { : <> /dev/loop-control; } 2>/dev/null; then echo usable
else echo no-permission; fi
s fusermount3
dirs="$PATH:/usr/sbin:/usr/bin:/sbin:/bin"
IFS=:
for d in $dirs; do
  if [ -n "$d" ] && [ -f "$d/fusermount3" ] && [ -x "$d/fusermount3" ]; then
    printf '%s\n' "$d/fusermount3"; break
  fi
done
unset IFS
s zswap; show /sys/module/zswap/parameters/enabled
s end
`;

/** What the script found besides the facts. */
export interface FactsSnapshot {
  facts: HostFacts;
  /** Effective user id of the SSH user. */
  uid: number;
  /** Something listens on the port asked about. */
  portInUse: boolean;
  /** The runtime's `--version` output (first line: `deno X.Y.Z`). */
  runtimeVersion: string;
}

/** The runtime did not start on the host: its exit and output. */
export class RuntimeDoesNotStartError extends Error {
  constructor(code: number, output: string) {
    super(
      `missing runtime: spirit does not start there (exit ${code}): ${
        output.trim().split("\n").slice(-3).join(" | ")
      }`,
    );
    this.name = "RuntimeDoesNotStartError";
  }
}

const SECTION = /^--spirit:([a-z0-9]+)--$/;

/** The script's sections by name, each a list of lines (pure). */
function sections(output: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const line of output.split("\n")) {
    const name = SECTION.exec(line)?.[1];
    if (name !== undefined) {
      current = [];
      found.set(name, current);
    } else if (current !== null) {
      current.push(line);
    }
  }
  return found;
}

/** CPUs in a list such as `0-3,8,10-11`. */
export function countCpuList(list: string): number {
  let count = 0;
  for (const part of list.trim().split(",")) {
    if (part === "") continue;
    const [from, to = from] = part.split("-").map(Number);
    if (from === undefined || to === undefined || !(to >= from)) {
      throw new RangeError(`Invalid CPU list "${list}"`);
    }
    count += to - from + 1;
  }
  return count;
}

/**
 * Parses the script's output (pure).
 * @throws {RuntimeDoesNotStartError} when the runtime's `--version` failed.
 * @throws {Error} naming the host when the output is not the script's.
 */
export function parseFactsSnapshot(output: string, host: string): FactsSnapshot {
  const parts = sections(output);
  if (!parts.has("end")) {
    throw new Error(`facts from ${host}: the probe's output ends early: ${output.slice(-300)}`);
  }
  const lines = (name: string) => (parts.get(name) ?? []).filter((l) => l.trim() !== "");
  const text = (name: string) => lines(name).join("\n");
  /** The lines grep found in `file`. */
  const grepped = (file: string) =>
    lines("grep").filter((l) => l.startsWith(`${file}:`)).map((l) => l.slice(file.length + 1));
  const keyed = (file: string, key: string) =>
    grepped(file).find((l) => l.startsWith(`${key}:`))?.slice(key.length + 1).trim() ?? "";
  const runtime = lines("runtime");
  const exit = Number(runtime.at(-1)?.match(/^exit (\d+)$/)?.[1] ?? NaN);
  if (exit !== 0) throw new RuntimeDoesNotStartError(exit, runtime.slice(0, -1).join("\n"));
  if (lines("grep").length === 0) {
    throw new Error(
      `facts from ${host}: grep found nothing in /proc/self/status, /proc/meminfo, ` +
        "/proc/self/smaps and /proc/self/mountinfo (is grep installed, is /proc mounted?)",
    );
  }
  const number = (value: string, what: string) => {
    const n = Number(value);
    if (value === "" || !Number.isFinite(n)) {
      throw new Error(`facts from ${host}: unreadable ${what} "${value}"`);
    }
    return n;
  };
  // Real, effective, saved and file-system ids: the effective one decides.
  const uid = number(keyed("/proc/self/status", "Uid").split(/\s+/)[1] ?? "", "user id");
  const mounts = parseCgroupMounts(grepped("/proc/self/mountinfo").join("\n"));
  for (const line of lines("v2controllers")) {
    const [path = "", ...controllers] = line.trim().split(/\s+/);
    const mount = mounts.find((m) => m.version === 2 && m.mountPoint === unescapeMountPath(path));
    if (mount !== undefined) mount.controllers = controllers;
  }
  const cgroups = chooseLayout(mounts);
  const memsw = new Set(lines("memsw").map(unescapeMountPath));
  const throttled = new Map(
    lines("swapdevices").map((l) => [l.slice(l.indexOf("\t") + 1), l.slice(0, l.indexOf("\t"))]),
  );
  const paranoidText = text("paranoid").trim();
  const paranoid = paranoidText === "" ? null : number(paranoidText, "perf_event_paranoid");
  const privileged = uid === 0;
  const loopControl = text("loopcontrol").trim();
  if (loopControl !== "absent" && loopControl !== "usable" && loopControl !== "no-permission") {
    throw new Error(`facts from ${host}: unreadable /dev/loop-control state "${loopControl}"`);
  }
  const zswap = text("zswap").trim();
  const remoteSwapSupport: RemoteSwapSupportFacts = {
    devFuse: text("fuse").trim() === "yes",
    loopControl,
    fusermount3: lines("fusermount3")[0]?.trim() ?? null,
    zswapEnabled: zswap === "" ? null : parseZswapEnabled(zswap),
  };
  const facts = hostFactsOf({
    hostname: text("hostname").trim(),
    kernelRelease: text("osrelease").trim(),
    kernelVersion: text("version").trim(),
    arch: text("arch").trim(),
    cpus: countCpuList(keyed("/proc/self/status", "Cpus_allowed_list")),
    memTotalKiB: number(keyed("/proc/meminfo", "MemTotal").replace(/\s*kB$/, ""), "MemTotal"),
    pageSizeBytes:
      number(keyed("/proc/self/smaps", "KernelPageSize").replace(/\s*kB$/, ""), "page size") *
      1024,
    cgroups,
    memswAccounting: cgroups.memory?.version === 1 && memsw.has(cgroups.memory.mountPoint),
    psi: text("psi").trim() === "yes",
    swapDevices: parseProcSwaps(text("swaps")).map((swap) => ({
      ...swap,
      device: throttled.get(swap.path) ?? null,
    })),
    rdmaDevices: lines("rdma").map((l) => l.trim()),
    // perf_event_open needs perf_event_paranoid <= 2 unprivileged (user space only, as the
    // agent's hardware counters count) and <= 1 for its software counters (kernel included).
    hardwarePerfCounters: paranoid !== null && lines("pmu").length > 0 &&
      (privileged || paranoid <= 2),
    softwarePerfEvents: paranoid !== null && (privileged || paranoid <= 1),
    remoteSwapSupport,
  });
  return {
    facts,
    uid,
    portInUse: text("listening").trim() !== "",
    runtimeVersion: runtime[0] ?? "",
  };
}
