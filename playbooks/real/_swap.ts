/**
 * Which swap the real-program playbooks run on, decided when a playbook is loaded: spirit's
 * remote swap device (issue 9: a loop device over a FUSE file whose pages live on the run's
 * memory server) where this machine can host it, else the loop-device swap that setup.ts
 * prepares. `SPIRIT_REAL_SWAP=remote|loop|auto` chooses (default auto); `remote` on a machine
 * that cannot host the device is refused with what is missing.
 * @module
 */

/** The swap of the real playbooks' compute node. */
export type RealSwap =
  /** spirit's remote swap device on the node (`remoteSwap` on the compute host). */
  | { kind: "remote" }
  /** The node's own swap devices: the loop-device swap of setup.ts (`why`: why not remote). */
  | { kind: "loop"; why: string };

/** The environment variable that chooses, and its accepted values. */
export const REAL_SWAP_ENV = "SPIRIT_REAL_SWAP";
const CHOICES = ["auto", "remote", "loop"] as const;

/** What the remote swap device needs on this machine (the engine is built with gcc). */
const REMOTE_SWAP_NEEDS: ReadonlyArray<{ what: string; present: () => boolean }> = [
  { what: "root", present: () => Deno.uid() === 0 },
  { what: "/dev/fuse", present: () => statSync("/dev/fuse")?.isCharDevice === true },
  {
    what: "/usr/include/linux/fuse.h (linux-libc-dev)",
    present: () => statSync("/usr/include/linux/fuse.h")?.isFile === true,
  },
  ...["gcc", "losetup", "mkswap", "swapon"].map((program) => ({
    what: program,
    present: () => onPath(program),
  })),
];

function statSync(path: string): Deno.FileInfo | null {
  try {
    return Deno.statSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.PermissionDenied) {
      return null;
    }
    throw error;
  }
}

/** True when `program` is an executable file on PATH. */
export function onPath(program: string): boolean {
  return (Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":").some((dir) =>
    statSync(`${dir}/${program}`)?.isFile === true
  );
}

/** What this machine lacks for the remote swap device (empty: it can host it). */
export function remoteSwapMissing(): string[] {
  return REMOTE_SWAP_NEEDS.filter((need) => !need.present()).map((need) => need.what);
}

/** The swap the real playbooks use here, from `SPIRIT_REAL_SWAP` and what the machine has. */
export function realSwap(): RealSwap {
  const choice = Deno.env.get(REAL_SWAP_ENV) ?? "auto";
  if (!(CHOICES as readonly string[]).includes(choice)) {
    throw new RangeError(
      `${REAL_SWAP_ENV}=${JSON.stringify(choice)}: expected one of ${CHOICES.join(", ")}`,
    );
  }
  if (choice === "loop") return { kind: "loop", why: `${REAL_SWAP_ENV}=loop` };
  const missing = remoteSwapMissing();
  if (missing.length === 0) return { kind: "remote" };
  if (choice === "remote") {
    throw new Error(
      `${REAL_SWAP_ENV}=remote: this machine cannot host spirit's remote swap device ` +
        `(missing: ${missing.join(", ")}); use ${REAL_SWAP_ENV}=loop`,
    );
  }
  return { kind: "loop", why: `no remote swap device here (missing: ${missing.join(", ")})` };
}
