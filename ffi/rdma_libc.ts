/**
 * The few libc calls the RDMA layer needs: errno capture right after a synchronous call,
 * strerror, and an fd waiter that polls in Deno's blocking pool (a nonblocking FFI call) and can
 * be woken through an eventfd so closing never waits for a timeout.
 * @module
 */
import { libc } from "./libc.ts";
import { CONSTANTS, LAYOUTS } from "./verbs_structs.ts";

let errnoView: Int32Array | undefined;

/** The libc symbols (the one libc handle of ffi/libc.ts). */
export function rdmaLibc(): ReturnType<typeof libc>["symbols"] {
  return libc().symbols;
}

/** The calling (main) thread's errno, aliased as an Int32Array over `__errno_location()`. */
function errnoCell(): Int32Array {
  if (errnoView === undefined) {
    const location = rdmaLibc().__errno_location();
    if (location === null) throw new Error("__errno_location returned NULL");
    errnoView = new Int32Array(Deno.UnsafePointerView.getArrayBuffer(location, 4));
  }
  return errnoView;
}

/**
 * Runs a synchronous FFI call on the main thread with errno cleared before and read right
 * after, so the errno belongs to this call. Never use it for `nonblocking` symbols: those run
 * on another thread whose errno is not ours.
 */
export function withErrno<T>(call: () => T): { result: T; errno: number } {
  const cell = errnoCell();
  cell[0] = 0;
  const result = call();
  return { result, errno: cell[0] ?? 0 };
}

/** The libc text for an errno value, e.g. "Function not implemented" for ENOSYS. */
export function errnoText(errno: number): string {
  const text = rdmaLibc().strerror(errno);
  return text === null ? `errno ${errno}` : Deno.UnsafePointerView.getCString(text);
}

const EFD_CLOEXEC = 0o2000000;
const EFD_NONBLOCK = 0o4000;

/** Waits for an fd to become readable in Deno's blocking pool; `wake()` ends a wait early. */
export class FdWaiter {
  #eventFd: number;
  // Off the V8 heap: poll(2) reads and writes it on another thread.
  #pollFds = new Uint8Array(new ArrayBuffer(2 * LAYOUTS.pollfd.size));
  #pending: Promise<boolean> | undefined;
  #closed = false;

  constructor() {
    const { result, errno } = withErrno(() => rdmaLibc().eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (result < 0) throw new Error(`eventfd failed: ${errnoText(errno)}`);
    this.#eventFd = result;
  }

  /**
   * Resolves true when `fd` is readable, false when woken by {@link wake} (or closed). One wait
   * at a time.
   */
  wait(fd: number): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    if (this.#pending !== undefined) throw new Error("FdWaiter.wait is already in progress");
    const view = new DataView(this.#pollFds.buffer);
    const { fd: fdOff, events, revents } = LAYOUTS.pollfd.fields;
    const size = LAYOUTS.pollfd.size;
    view.setInt32(fdOff, fd, true);
    view.setInt16(events, CONSTANTS.POLLIN, true);
    view.setInt16(revents, 0, true);
    view.setInt32(size + fdOff, this.#eventFd, true);
    view.setInt16(size + events, CONSTANTS.POLLIN, true);
    view.setInt16(size + revents, 0, true);
    const pending = rdmaLibc().poll(this.#pollFds, 2n, -1).then((ready) => {
      this.#pending = undefined;
      const woken = view.getInt16(size + revents, true) !== 0;
      if (woken) this.#drain();
      // poll() < 0 is EINTR or similar: report "readable" so the caller retries its own call.
      return ready < 0 || view.getInt16(revents, true) !== 0;
    });
    this.#pending = pending;
    return pending;
  }

  /** True while a {@link wait} is pending. */
  get waiting(): boolean {
    return this.#pending !== undefined;
  }

  /** Ends the current wait (if any) with false. */
  wake(): void {
    if (this.#closed) return;
    const one = new BigUint64Array([1n]);
    rdmaLibc().write(this.#eventFd, new Uint8Array(one.buffer), 8n);
  }

  #drain(): void {
    rdmaLibc().read(this.#eventFd, new Uint8Array(8), 8n);
  }

  /**
   * Wakes any wait and closes the eventfd once that wait has ended (at once when none is
   * pending, so closing an idle waiter completes synchronously). Idempotent.
   */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.wake();
    this.#closed = true;
    const pending = this.#pending;
    if (pending === undefined) {
      rdmaLibc().close(this.#eventFd);
      return Promise.resolve();
    }
    return pending.then(() => void rdmaLibc().close(this.#eventFd));
  }

  /** Same as {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
