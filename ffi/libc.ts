/**
 * Safe wrappers over the few libc functions the agent needs: errno-checked `syscall`, `prctl`,
 * `read`, `close`, `ioctl`, `mmap`/`munmap` and `sysconf`. errno is read from
 * `__errno_location()` immediately after the failing call, on the same thread.
 * @module
 */
import { LIBC_PATHS, openLibrary } from "./library.ts";
import { LIBC_SYMBOLS } from "./libc_symbols.ts";

type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>;
let cached: Libc | undefined;

/** The loaded C library (opened once, on first use; `SPIRIT_LIBC` overrides the path). */
export function libc(): Libc {
  cached ??= openLibrary("libc", LIBC_PATHS, LIBC_SYMBOLS, { envOverride: "SPIRIT_LIBC" });
  return cached;
}

/** Well-known errno values used by callers to tell expected failures apart. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EBADF: 9,
  EAGAIN: 11,
  EACCES: 13,
  EBUSY: 16,
  ENODEV: 19,
  EINVAL: 22,
  EMFILE: 24,
  ENOSYS: 38,
  EOPNOTSUPP: 95,
} as const;

/** A libc call failed; `errno` is the value read right after the call. */
export class ErrnoError extends Error {
  readonly call: string;
  readonly errno: number;
  constructor(call: string, errno: number) {
    super(`${call} failed: ${strerror(errno)} (errno ${errno})`);
    this.name = "ErrnoError";
    this.call = call;
    this.errno = errno;
  }
}

/** The calling thread's current errno. Call it immediately after the failing libc call. */
export function readErrno(): number {
  const location = libc().symbols.__errno_location();
  if (location === null) return 0;
  return new Deno.UnsafePointerView(location).getInt32(0);
}

/** The libc message for an errno value. */
export function strerror(errno: number): string {
  const message = libc().symbols.strerror(errno);
  return message === null ? `errno ${errno}` : Deno.UnsafePointerView.getCString(message);
}

/** Syscall numbers for the running architecture. */
export const SYSCALL_NUMBERS: { readonly perfEventOpen: number } = (() => {
  switch (Deno.build.arch) {
    case "x86_64":
      return { perfEventOpen: 298 };
    case "aarch64":
      return { perfEventOpen: 241 };
    default:
      throw new Error(`Unsupported architecture for syscalls: ${Deno.build.arch}`);
  }
})();

/** Calls `syscall(number, ...args)` with up to six integer arguments; throws ErrnoError on -1. */
export function syscall(number: number, args: readonly (number | bigint)[] = []): bigint {
  if (args.length > 6) {
    throw new RangeError(`syscall takes at most 6 arguments, got ${args.length}`);
  }
  const a = [0, 1, 2, 3, 4, 5].map((i) => BigInt(args[i] ?? 0));
  const result = libc().symbols.syscall6(
    BigInt(number),
    a[0] ?? 0n,
    a[1] ?? 0n,
    a[2] ?? 0n,
    a[3] ?? 0n,
    a[4] ?? 0n,
    a[5] ?? 0n,
  );
  if (result === -1n) throw new ErrnoError(`syscall(${number})`, readErrno());
  return result;
}

/** `perf_event_open(attr, pid, cpu, groupFd, flags)`; returns the new file descriptor. */
export function perfEventOpen(
  attr: Uint8Array<ArrayBuffer>,
  options: { pid: number; cpu: number; groupFd?: number; flags?: bigint },
): number {
  const fd = libc().symbols.syscall_perf_event_open(
    BigInt(SYSCALL_NUMBERS.perfEventOpen),
    attr,
    options.pid,
    options.cpu,
    options.groupFd ?? -1,
    options.flags ?? 0n,
  );
  if (fd === -1n) throw new ErrnoError("perf_event_open", readErrno());
  return Number(fd);
}

/** prctl option: signal sent to this process when its parent thread dies. */
export const PR_SET_PDEATHSIG = 1;
/** prctl option: read the parent-death signal. */
export const PR_GET_PDEATHSIG = 2;

/**
 * Asks the kernel to send `signal` to the calling process when its parent dies
 * (`prctl(PR_SET_PDEATHSIG, signal)`). Kept across execve (except for set-user-ID programs).
 */
export function setParentDeathSignal(signal: Deno.Signal | 0): void {
  const number = signal === 0 ? 0 : SIGNAL_NUMBERS[signal];
  if (number === undefined) throw new RangeError(`No signal number known for ${signal}`);
  if (libc().symbols.prctl(PR_SET_PDEATHSIG, BigInt(number), 0n, 0n, 0n) === -1) {
    throw new ErrnoError("prctl(PR_SET_PDEATHSIG)", readErrno());
  }
}

/** The parent-death signal number of the calling process (0 when none). */
export function getParentDeathSignal(): number {
  const out = new Int32Array(1);
  const pointer = Deno.UnsafePointer.value(Deno.UnsafePointer.of(out));
  if (libc().symbols.prctl(PR_GET_PDEATHSIG, BigInt(pointer), 0n, 0n, 0n) === -1) {
    throw new ErrnoError("prctl(PR_GET_PDEATHSIG)", readErrno());
  }
  return out[0] ?? 0;
}

const SIGNAL_NUMBERS: Partial<Record<Deno.Signal, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGUSR2: 12,
  SIGTERM: 15,
};

/** The process id of the calling process, from libc. */
export function getpid(): number {
  return libc().symbols.getpid();
}

/** Reads up to `buffer.length` bytes from `fd`; returns the byte count. */
export function readFd(fd: number, buffer: Uint8Array<ArrayBuffer>): number {
  const n = libc().symbols.read(fd, buffer, BigInt(buffer.length));
  if (n === -1n) throw new ErrnoError("read", readErrno());
  return Number(n);
}

/** Closes a file descriptor obtained through FFI. */
export function closeFd(fd: number): void {
  if (libc().symbols.close(fd) === -1) throw new ErrnoError("close", readErrno());
}

/** `ioctl(fd, request, 0)`: requests that take no argument (or an integer 0). */
export function ioctl(fd: number, request: number): number {
  const result = libc().symbols.ioctl(fd, BigInt(request), 0n);
  if (result === -1) throw new ErrnoError(`ioctl(0x${request.toString(16)})`, readErrno());
  return result;
}

/** mmap protection and flag bits used by spirit. */
export const PROT_READ = 1;
/** mmap: pages may be written. */
export const PROT_WRITE = 2;
/** mmap: shared mapping. */
export const MAP_SHARED = 1;
const MAP_FAILED = -1n;

/** A memory mapping of a file descriptor; unmapped once by `close()`. */
export class Mapping {
  #pointer: Deno.PointerObject | null;
  readonly length: number;
  constructor(pointer: Deno.PointerObject, length: number) {
    this.#pointer = pointer;
    this.length = length;
  }
  /** A writable view of the mapped bytes; invalid after close(). */
  bytes(): ArrayBuffer {
    if (this.#pointer === null) throw new Error("The mapping is closed");
    return Deno.UnsafePointerView.getArrayBuffer(this.#pointer, this.length);
  }
  /** Unmaps the memory (idempotent). */
  close(): void {
    if (this.#pointer === null) return;
    const pointer = this.#pointer;
    this.#pointer = null;
    if (libc().symbols.munmap(pointer, BigInt(this.length)) === -1) {
      throw new ErrnoError("munmap", readErrno());
    }
  }
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Maps `length` bytes of `fd` shared and readable (and writable when `writable`). */
export function mmapFd(fd: number, length: number, options: { writable?: boolean } = {}): Mapping {
  const prot = PROT_READ | (options.writable ? PROT_WRITE : 0);
  const pointer = libc().symbols.mmap(null, BigInt(length), prot, MAP_SHARED, fd, 0n);
  if (pointer === null || Deno.UnsafePointer.value(pointer) === BigInt.asUintN(64, MAP_FAILED)) {
    throw new ErrnoError("mmap", readErrno());
  }
  return new Mapping(pointer, length);
}

const SC_PAGESIZE = 30;

/** The system page size in bytes. */
export function pageSize(): number {
  const size = libc().symbols.sysconf(SC_PAGESIZE);
  if (size <= 0n) throw new ErrnoError("sysconf(_SC_PAGESIZE)", readErrno());
  return Number(size);
}

const MCL_CURRENT = 1;
const MCL_FUTURE = 2;
const MCL_ONFAULT = 4;

/**
 * `mlockall(MCL_CURRENT | MCL_FUTURE [| MCL_ONFAULT])`: keeps this process's memory out of swap.
 * With `onFault`, pages are locked as they are first touched rather than all at once (V8
 * reserves far more address space than it uses). Throws ErrnoError (EPERM, ENOMEM) on failure.
 */
export function lockAllMemory(options: { onFault?: boolean } = {}): void {
  const flags = MCL_CURRENT | MCL_FUTURE | (options.onFault ? MCL_ONFAULT : 0);
  if (libc().symbols.mlockall(flags) !== 0) throw new ErrnoError("mlockall", readErrno());
}

/** prctl option: the calling thread takes part in block-layer or filesystem I/O (Linux 5.6+). */
export const PR_SET_IO_FLUSHER = 57;

/**
 * `prctl(PR_SET_IO_FLUSHER, 1)`: memory allocations of the calling thread no longer recurse into
 * I/O and are not throttled like ordinary writers. Needs CAP_SYS_RESOURCE; throws ErrnoError.
 */
export function setIoFlusher(): void {
  if (libc().symbols.prctl(PR_SET_IO_FLUSHER, 1n, 0n, 0n, 0n) === -1) {
    throw new ErrnoError("prctl(PR_SET_IO_FLUSHER)", readErrno());
  }
}

/**
 * Points this process's stdout and stderr at `path` (appending; created 0600), so a detached
 * daemon's later output never goes to a pipe whose reader has left.
 */
export function redirectOutput(path: string): void {
  const O_WRONLY = 0o1;
  const O_CREAT = 0o100;
  const O_APPEND = 0o2000;
  const O_CLOEXEC = 0o2000000;
  const symbols = libc().symbols;
  const name = new TextEncoder().encode(`${path}\0`) as Uint8Array<ArrayBuffer>;
  const fd = symbols.open(name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600);
  if (fd < 0) throw new ErrnoError(`open(${path})`, readErrno());
  try {
    for (const target of [1, 2]) {
      if (symbols.dup2(fd, target) < 0) throw new ErrnoError(`dup2(${target})`, readErrno());
    }
  } finally {
    symbols.close(fd);
  }
}
