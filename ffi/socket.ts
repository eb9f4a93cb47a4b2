/**
 * A blocking TCP socket through libc, for worker threads that must not wait on an event loop
 * (the swap daemon's I/O path: read a FUSE request, ask the memory server, reply, all
 * synchronous). Send and receive time out (SO_SNDTIMEO, SO_RCVTIMEO), so a silent peer is
 * noticed. Never use it on the main thread: every call blocks the calling thread.
 * @module
 */
import { Errno, ErrnoError, libc, readErrno } from "./libc.ts";

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_RCVTIMEO = 20;
const SO_SNDTIMEO = 21;
const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;
const MSG_NOSIGNAL = 0x4000;
const MSG_MORE = 0x8000;
const EINPROGRESS = 115;

/** The connection failed, timed out or was closed by the peer. */
export class SocketError extends Error {
  /** errno of the failed call, or 0 when the peer closed the connection. */
  readonly errno: number;
  /** Creates the error. */
  constructor(message: string, errno: number) {
    super(message);
    this.name = "SocketError";
    this.errno = errno;
  }
}

/** Encodes `struct sockaddr_in` or `sockaddr_in6` for an IP literal. */
export function encodeSockaddr(ip: string, port: number): Uint8Array<ArrayBuffer> {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (v4 !== null) {
    const bytes = new Uint8Array(16);
    const view = new DataView(bytes.buffer);
    view.setUint16(0, AF_INET, true);
    view.setUint16(2, port, false);
    for (let i = 0; i < 4; i++) {
      const octet = Number(v4[i + 1]);
      if (octet > 255) throw new RangeError(`Invalid IPv4 address ${ip}`);
      bytes[4 + i] = octet;
    }
    return bytes;
  }
  const bytes = new Uint8Array(28);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, AF_INET6, true);
  view.setUint16(2, port, false);
  const groups = parseIpv6(ip);
  groups.forEach((group, i) => view.setUint16(8 + 2 * i, group, false));
  return bytes;
}

function parseIpv6(ip: string): number[] {
  const invalid = () =>
    new RangeError(`Invalid IP address ${ip}: expected an IPv4 or IPv6 literal`);
  const halves = ip.split("::");
  if (halves.length > 2) throw invalid();
  const parse = (part: string) =>
    (part === "" ? [] : part.split(":")).map((g) => {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw invalid();
      return parseInt(g, 16);
    });
  const head = parse(halves[0] ?? "");
  const tail = halves.length === 2 ? parse(halves[1] ?? "") : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) throw invalid();
  return [...head, ...new Array(missing).fill(0), ...tail];
}

/** A connected, blocking TCP socket. */
export class BlockingSocket {
  #fd: number;

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /**
   * Connects to `ip:port` (an IP literal), with TCP_NODELAY and `timeoutMs` for connect, send
   * and receive. Throws SocketError.
   */
  static connect(ip: string, port: number, options: { timeoutMs: number }): BlockingSocket {
    const address = encodeSockaddr(ip, port);
    const family = address.length === 16 ? AF_INET : AF_INET6;
    const symbols = libc().symbols;
    const fd = symbols.socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new ErrnoError("socket", readErrno());
    const socket = new BlockingSocket(fd);
    try {
      const timeval = new Uint8Array(16);
      const view = new DataView(timeval.buffer);
      view.setBigInt64(0, BigInt(Math.floor(options.timeoutMs / 1000)), true);
      view.setBigInt64(8, BigInt((options.timeoutMs % 1000) * 1000), true);
      socket.#option(SOL_SOCKET, SO_RCVTIMEO, timeval);
      socket.#option(SOL_SOCKET, SO_SNDTIMEO, timeval);
      socket.#option(IPPROTO_TCP, TCP_NODELAY, new Uint8Array(new Int32Array([1]).buffer));
      if (symbols.connect(fd, address, address.length) !== 0) {
        const errno = readErrno();
        const why = errno === EINPROGRESS ? "timed out" : `failed (errno ${errno})`;
        throw new SocketError(`connect to ${ip}:${port} ${why}`, errno);
      }
      return socket;
    } catch (error) {
      socket.close();
      throw error;
    }
  }

  #option(level: number, name: number, value: Uint8Array<ArrayBuffer>): void {
    if (libc().symbols.setsockopt(this.#fd, level, name, value, value.length) !== 0) {
      throw new ErrnoError(`setsockopt(${level}, ${name})`, readErrno());
    }
  }

  /** Sends all of `bytes`; with `more`, tells the kernel more data follows at once (MSG_MORE). */
  send(bytes: Uint8Array<ArrayBuffer>, options: { more?: boolean } = {}): void {
    const flags = MSG_NOSIGNAL | (options.more ? MSG_MORE : 0);
    let at = 0;
    while (at < bytes.length) {
      const n = libc().symbols.send(
        this.#checkOpen(),
        bytes.subarray(at),
        BigInt(bytes.length - at),
        flags,
      );
      if (n < 0n) {
        const errno = readErrno();
        if (errno === Errno.EINTR) continue;
        throw new SocketError(errnoMessage("send", errno), errno);
      }
      at += Number(n);
    }
  }

  /** Fills `target` completely from the socket. */
  receive(target: Uint8Array<ArrayBuffer>): void {
    let at = 0;
    while (at < target.length) {
      const n = libc().symbols.recv(
        this.#checkOpen(),
        target.subarray(at),
        BigInt(target.length - at),
        0,
      );
      if (n === 0n) throw new SocketError("the memory server closed the connection", 0);
      if (n < 0n) {
        const errno = readErrno();
        if (errno === Errno.EINTR) continue;
        throw new SocketError(errnoMessage("recv", errno), errno);
      }
      at += Number(n);
    }
  }

  #checkOpen(): number {
    if (this.#fd < 0) throw new SocketError("the socket is closed", Errno.EBADF);
    return this.#fd;
  }

  /** Closes the socket (idempotent). */
  close(): void {
    if (this.#fd < 0) return;
    libc().symbols.close(this.#fd);
    this.#fd = -1;
  }
}

function errnoMessage(call: string, errno: number): string {
  if (errno === Errno.EAGAIN) return `${call} timed out`;
  return new ErrnoError(call, errno).message;
}
