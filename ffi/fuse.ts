/**
 * A FUSE mount served by this process, without libfuse: `/dev/fuse` opened through libc and
 * mounted with `mount(2)` (`fd=N,rootmode=...`), requests read and replies written with blocking
 * `read(2)`/`write(2)` on that descriptor. Reads block the calling thread, so they belong on
 * worker threads (several may read the same descriptor; each read returns one request). The
 * kernel ABI is in `fuse_abi.ts`; what the requests mean is the caller's business.
 * @module
 */
import { Errno, ErrnoError, libc, readErrno } from "./libc.ts";

const O_RDWR = 0o2;
const O_CLOEXEC = 0o2000000;
const MS_NOSUID = 2;
const MS_NODEV = 4;
const MNT_DETACH = 2;

/** errno values the FUSE device reports for a connection that is gone. */
const DISCONNECTED: ReadonlySet<number> = new Set([
  Errno.ENODEV,
  107, // ENOTCONN
  103, // ECONNABORTED
]);

/** The FUSE connection ended (unmounted or aborted): no more requests will arrive. */
export class FuseDisconnectedError extends Error {
  readonly errno: number;
  /** Creates the error for `errno`. */
  constructor(errno: number) {
    super(`The FUSE connection ended (errno ${errno})`);
    this.name = "FuseDisconnectedError";
    this.errno = errno;
  }
}

function cString(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`${text}\0`) as Uint8Array<ArrayBuffer>;
}

/** Options of {@link mountFuse}. */
export interface FuseMountOptions {
  /** Shown as the mount's source in /proc/mounts. */
  readonly fsName: string;
  /** Filesystem subtype: the mount's type becomes `fuse.<subtype>`. */
  readonly subtype: string;
}

/**
 * Opens `/dev/fuse` (close-on-exec) and mounts it at `mountpoint` (an existing directory) with
 * `default_permissions,allow_other`, so only the file modes the daemon reports decide access.
 * Needs CAP_SYS_ADMIN. Returns the descriptor; throws ErrnoError naming the failed call.
 */
export function mountFuse(mountpoint: string, options: FuseMountOptions): number {
  const symbols = libc().symbols;
  const fd = symbols.open(cString("/dev/fuse"), O_RDWR | O_CLOEXEC, 0);
  if (fd < 0) throw new ErrnoError("open(/dev/fuse)", readErrno());
  const data = `fd=${fd},rootmode=40000,user_id=0,group_id=0,default_permissions,allow_other`;
  const result = symbols.mount(
    cString(options.fsName),
    cString(mountpoint),
    cString(`fuse.${options.subtype}`),
    BigInt(MS_NOSUID | MS_NODEV),
    cString(data),
  );
  if (result !== 0) {
    const errno = readErrno();
    symbols.close(fd);
    throw new ErrnoError(`mount(${mountpoint}, fuse.${options.subtype})`, errno);
  }
  return fd;
}

/** Blocking request/reply access to a mounted FUSE descriptor (from any thread). */
export class FuseChannel {
  readonly fd: number;

  /** Wraps a descriptor returned by {@link mountFuse} (possibly in another thread). */
  constructor(fd: number) {
    this.fd = fd;
  }

  /**
   * Blocks until a request arrives and reads it into `buffer` (which must hold the largest
   * request: max_write plus headers). Returns its length. Throws FuseDisconnectedError once the
   * mount is gone.
   */
  read(buffer: Uint8Array<ArrayBuffer>): number {
    for (;;) {
      const n = libc().symbols.read(this.fd, buffer, BigInt(buffer.length));
      if (n >= 0n) return Number(n);
      const errno = readErrno();
      if (errno === Errno.EINTR || errno === Errno.EAGAIN) continue;
      if (DISCONNECTED.has(errno)) throw new FuseDisconnectedError(errno);
      throw new ErrnoError("read(/dev/fuse)", errno);
    }
  }

  /**
   * Writes one reply. Returns false when the kernel no longer waits for it (the request was
   * interrupted: ENOENT) or the connection is gone; throws on any other error.
   */
  write(reply: Uint8Array<ArrayBuffer>): boolean {
    const n = libc().symbols.write(this.fd, reply, BigInt(reply.length));
    if (n >= 0n) return true;
    const errno = readErrno();
    if (errno === Errno.ENOENT || DISCONNECTED.has(errno)) return false;
    throw new ErrnoError("write(/dev/fuse)", errno);
  }
}

/** Closes a descriptor from {@link mountFuse}; the kernel then aborts the connection. */
export function closeFuse(fd: number): void {
  libc().symbols.close(fd);
}

/**
 * `umount2(path, lazy ? MNT_DETACH : 0)`. Returns false when `path` is not a mount point
 * (EINVAL) or does not exist; throws ErrnoError otherwise (EBUSY while a loop device holds it).
 */
export function unmountPath(path: string, options: { lazy?: boolean } = {}): boolean {
  const result = libc().symbols.umount2(cString(path), options.lazy ? MNT_DETACH : 0);
  if (result === 0) return true;
  const errno = readErrno();
  if (errno === Errno.EINVAL || errno === Errno.ENOENT) return false;
  throw new ErrnoError(`umount2(${path})`, errno);
}
