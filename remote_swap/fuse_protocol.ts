/**
 * The swap daemon's filesystem, as FUSE requests and replies (pure: bytes in, bytes out). The
 * mount holds one regular file, `swap`, of a fixed size; everything about its contents is left
 * to the caller as a {@link FuseAction}: read, write, discard (a punched hole). Metadata
 * requests are answered here. The loop device opens the file; FOPEN_DIRECT_IO keeps the
 * kernel's page cache out of the way, so every swap I/O reaches the daemon.
 * @module
 */
import {
  FALLOC_CONSTANTS,
  FUSE_CONSTANTS as C,
  FUSE_KERNEL_MINOR_VERSION,
  FUSE_KERNEL_VERSION,
  FUSE_LAYOUTS as L,
} from "../ffi/fuse_abi.ts";

/** The name of the one file in the mount. */
export const SWAP_FILE_NAME = "swap";
/** Node id of the swap file (the root directory is FUSE_ROOT_ID = 1). */
export const SWAP_FILE_NODE = 2;

const IN_HEADER = L.fuse_in_header.size;
const OUT_HEADER = L.fuse_out_header.size;
/** Attribute and entry cache lifetime handed to the kernel: nothing here ever changes. */
const CACHE_SECONDS = 3600;

const E = {
  ENOENT: 2,
  EIO: 5,
  EBADF: 9,
  EACCES: 13,
  EISDIR: 21,
  EINVAL: 22,
  EFBIG: 27,
  ENOSPC: 28,
  ENOSYS: 38,
  EPROTO: 71,
  EOPNOTSUPP: 95,
} as const;

/** What to do with one request. */
export type FuseAction =
  /** A complete reply of `length` bytes is in the output buffer. */
  | { readonly kind: "reply"; readonly length: number }
  /** No reply is due (FORGET, INTERRUPT). */
  | { readonly kind: "none" }
  /** Read `size` bytes at `offset` into the output buffer at {@link REPLY_DATA_OFFSET}. */
  | {
    readonly kind: "read";
    readonly unique: bigint;
    readonly offset: number;
    readonly size: number;
  }
  /** Write the `size` bytes at `dataAt` of the request buffer to `offset`. */
  | {
    readonly kind: "write";
    readonly unique: bigint;
    readonly offset: number;
    readonly size: number;
    readonly dataAt: number;
  }
  /** Forget the contents of `length` bytes at `offset` (they read as zeros afterwards). */
  | {
    readonly kind: "discard";
    readonly unique: bigint;
    readonly offset: number;
    readonly length: number;
  }
  /** The kernel is unmounting; a reply of `length` bytes is in the output buffer. */
  | { readonly kind: "destroy"; readonly length: number };

/** Where the data of a READ reply starts in the output buffer. */
export const REPLY_DATA_OFFSET = OUT_HEADER;
/** Bytes of a request's headers before the data of a WRITE. */
export const WRITE_DATA_OFFSET = IN_HEADER + L.fuse_write_in.size;

/** Options of {@link SwapFileSystem}. */
export interface SwapFileSystemOptions {
  /** Size of the swap file (a multiple of 4 KiB). */
  readonly sizeBytes: number;
  /** Largest READ or WRITE the kernel may send (a multiple of 4 KiB, at most 1 MiB). */
  readonly maxTransferBytes: number;
  /** Timestamps of the file and directory, Unix seconds. */
  readonly timeSec: number;
  /** Async requests the kernel may queue (max_background). */
  readonly maxBackground?: number;
}

/** What the kernel and daemon agreed on at INIT. */
export interface FuseSession {
  readonly minor: number;
  readonly flags: number;
  readonly maxWriteBytes: number;
}

/**
 * Decodes requests of the one-file filesystem and encodes the metadata replies.
 * @example
 * const fs = new SwapFileSystem({ sizeBytes: 1 << 30, maxTransferBytes: 1 << 20, timeSec: 0 });
 * const action = fs.handle(request, reply); // then act on action.kind
 */
export class SwapFileSystem {
  readonly sizeBytes: number;
  readonly maxTransferBytes: number;
  readonly #timeSec: number;
  readonly #maxBackground: number;
  #session: FuseSession | null = null;

  /** Creates the filesystem description. */
  constructor(options: SwapFileSystemOptions) {
    if (options.sizeBytes % 4096 !== 0 || options.sizeBytes <= 0) {
      throw new RangeError(`Swap size ${options.sizeBytes} must be a positive multiple of 4096`);
    }
    const max = options.maxTransferBytes;
    if (max % 4096 !== 0 || max < 4096 || max > 1 << 20) {
      throw new RangeError(`Transfer size ${max} must be a multiple of 4096 up to 1 MiB`);
    }
    this.sizeBytes = options.sizeBytes;
    this.maxTransferBytes = max;
    this.#timeSec = options.timeSec;
    this.#maxBackground = options.maxBackground ?? 64;
  }

  /** The INIT outcome, once the kernel has sent INIT. */
  get session(): FuseSession | null {
    return this.#session;
  }

  /** Bytes a request buffer needs: the largest WRITE plus its headers. */
  get requestBufferBytes(): number {
    return Math.max(C.FUSE_MIN_READ_BUFFER, WRITE_DATA_OFFSET + this.maxTransferBytes);
  }

  /** Bytes a reply buffer needs: the largest READ reply. */
  get replyBufferBytes(): number {
    return OUT_HEADER + this.maxTransferBytes;
  }

  /**
   * Decodes the request in `request` (as read from /dev/fuse) and, for metadata requests,
   * encodes the reply into `reply` (at least {@link replyBufferBytes} long... metadata replies
   * need less than 256 bytes).
   */
  handle(request: Uint8Array, reply: Uint8Array): FuseAction {
    if (request.length < IN_HEADER) throw new RangeError(`FUSE request of ${request.length} bytes`);
    const inView = new DataView(request.buffer, request.byteOffset, request.length);
    const opcode = inView.getUint32(L.fuse_in_header.fields.opcode, true);
    const unique = inView.getBigUint64(L.fuse_in_header.fields.unique, true);
    const nodeid = Number(inView.getBigUint64(L.fuse_in_header.fields.nodeid, true));
    const out = new DataView(reply.buffer, reply.byteOffset, reply.length);
    const args = IN_HEADER;
    const ok = (payloadBytes: number): FuseAction => ({
      kind: "reply",
      length: writeOutHeader(out, unique, 0, payloadBytes),
    });
    const fail = (errno: number): FuseAction => ({
      kind: "reply",
      length: writeOutHeader(out, unique, -errno, 0),
    });
    switch (opcode) {
      case C.FUSE_INIT:
        return this.#init(inView, out, unique);
      case C.FUSE_DESTROY:
        return { kind: "destroy", length: writeOutHeader(out, unique, 0, 0) };
      case C.FUSE_FORGET:
      case C.FUSE_BATCH_FORGET:
      case C.FUSE_INTERRUPT:
        return { kind: "none" };
      case C.FUSE_LOOKUP: {
        const name = cName(request.subarray(args));
        if (nodeid !== C.FUSE_ROOT_ID || name !== SWAP_FILE_NAME) return fail(E.ENOENT);
        this.#entry(out, SWAP_FILE_NODE);
        return ok(L.fuse_entry_out.size);
      }
      case C.FUSE_GETATTR:
        if (!this.#known(nodeid)) return fail(E.ENOENT);
        this.#attrOut(out, nodeid);
        return ok(L.fuse_attr_out.size);
      case C.FUSE_SETATTR: {
        if (!this.#known(nodeid)) return fail(E.ENOENT);
        const valid = inView.getUint32(args + L.fuse_setattr_in.fields.valid, true);
        const size = Number(inView.getBigUint64(args + L.fuse_setattr_in.fields.size, true));
        // The size is fixed; other attribute changes are accepted and have no effect.
        if ((valid & C.FATTR_SIZE) !== 0 && size !== this.sizeBytes) return fail(E.EACCES);
        this.#attrOut(out, nodeid);
        return ok(L.fuse_attr_out.size);
      }
      case C.FUSE_OPEN:
        if (nodeid === C.FUSE_ROOT_ID) return fail(E.EISDIR);
        if (nodeid !== SWAP_FILE_NODE) return fail(E.ENOENT);
        out.setBigUint64(OUT_HEADER + L.fuse_open_out.fields.fh, 1n, true);
        out.setUint32(
          OUT_HEADER + L.fuse_open_out.fields.open_flags,
          C.FOPEN_DIRECT_IO | C.FOPEN_PARALLEL_DIRECT_WRITES,
          true,
        );
        out.setUint32(OUT_HEADER + 12, 0, true);
        return ok(L.fuse_open_out.size);
      case C.FUSE_OPENDIR:
        if (nodeid !== C.FUSE_ROOT_ID) return fail(E.ENOENT);
        out.setBigUint64(OUT_HEADER, 0n, true);
        out.setBigUint64(OUT_HEADER + 8, 0n, true);
        return ok(L.fuse_open_out.size);
      case C.FUSE_READDIR:
        if (nodeid !== C.FUSE_ROOT_ID) return fail(E.ENOENT);
        return ok(this.#readdir(inView, reply));
      case C.FUSE_RELEASE:
      case C.FUSE_RELEASEDIR:
      case C.FUSE_FLUSH:
      case C.FUSE_FSYNC:
      case C.FUSE_FSYNCDIR:
      case C.FUSE_ACCESS:
        return ok(0);
      case C.FUSE_STATFS:
        this.#statfs(out);
        return ok(L.fuse_kstatfs.size);
      case C.FUSE_READ: {
        if (nodeid !== SWAP_FILE_NODE) return fail(E.EBADF);
        const offset = Number(inView.getBigUint64(args + L.fuse_read_in.fields.offset, true));
        const requested = inView.getUint32(args + L.fuse_read_in.fields.size, true);
        const size = Math.max(0, Math.min(requested, this.sizeBytes - offset));
        if (size === 0) return ok(0);
        if (size > this.maxTransferBytes) return fail(E.EINVAL);
        return { kind: "read", unique, offset, size };
      }
      case C.FUSE_WRITE: {
        if (nodeid !== SWAP_FILE_NODE) return fail(E.EBADF);
        const offset = Number(inView.getBigUint64(args + L.fuse_write_in.fields.offset, true));
        const size = inView.getUint32(args + L.fuse_write_in.fields.size, true);
        if (WRITE_DATA_OFFSET + size > request.length) return fail(E.EINVAL);
        if (offset + size > this.sizeBytes) return fail(E.EFBIG);
        return { kind: "write", unique, offset, size, dataAt: WRITE_DATA_OFFSET };
      }
      case C.FUSE_FALLOCATE: {
        if (nodeid !== SWAP_FILE_NODE) return fail(E.EBADF);
        const f = L.fuse_fallocate_in.fields;
        const offset = Number(inView.getBigUint64(args + f.offset, true));
        const length = Number(inView.getBigUint64(args + f.length, true));
        const mode = inView.getUint32(args + f.mode, true);
        const punch = FALLOC_CONSTANTS.FALLOC_FL_PUNCH_HOLE | FALLOC_CONSTANTS.FALLOC_FL_KEEP_SIZE;
        if (mode === punch) {
          const end = Math.min(offset + length, this.sizeBytes);
          if (end <= offset) return ok(0);
          return { kind: "discard", unique, offset, length: end - offset };
        }
        // Preallocation inside the file is a no-op: the file is always fully backed.
        if (mode === 0 || mode === FALLOC_CONSTANTS.FALLOC_FL_KEEP_SIZE) {
          return offset + length <= this.sizeBytes ? ok(0) : fail(E.ENOSPC);
        }
        return fail(E.EOPNOTSUPP);
      }
      default:
        return fail(E.ENOSYS);
    }
  }

  /** Encodes the reply to a finished READ (`size` data bytes already at REPLY_DATA_OFFSET). */
  static readReply(reply: Uint8Array, unique: bigint, size: number): number {
    return writeOutHeader(
      new DataView(reply.buffer, reply.byteOffset, reply.length),
      unique,
      0,
      size,
    );
  }

  /** Encodes the reply to a finished WRITE of `size` bytes. */
  static writeReply(reply: Uint8Array, unique: bigint, size: number): number {
    const out = new DataView(reply.buffer, reply.byteOffset, reply.length);
    out.setUint32(OUT_HEADER + L.fuse_write_out.fields.size, size, true);
    out.setUint32(OUT_HEADER + 4, 0, true);
    return writeOutHeader(out, unique, 0, L.fuse_write_out.size);
  }

  /** Encodes an empty success reply (a finished discard). */
  static emptyReply(reply: Uint8Array, unique: bigint): number {
    return writeOutHeader(new DataView(reply.buffer, reply.byteOffset, reply.length), unique, 0, 0);
  }

  /** Encodes an error reply (`errno` positive, e.g. 5 for EIO). */
  static errorReply(reply: Uint8Array, unique: bigint, errno: number): number {
    return writeOutHeader(
      new DataView(reply.buffer, reply.byteOffset, reply.length),
      unique,
      -errno,
      0,
    );
  }

  #known(nodeid: number): boolean {
    return nodeid === C.FUSE_ROOT_ID || nodeid === SWAP_FILE_NODE;
  }

  #init(inView: DataView, out: DataView, unique: bigint): FuseAction {
    const f = L.fuse_init_in.fields;
    const major = inView.getUint32(IN_HEADER + f.major, true);
    const minor = inView.getUint32(IN_HEADER + f.minor, true);
    const maxReadahead = inView.getUint32(IN_HEADER + f.max_readahead, true);
    const kernelFlags = inView.getUint32(IN_HEADER + f.flags, true);
    const o = L.fuse_init_out.fields;
    const at = OUT_HEADER;
    new Uint8Array(out.buffer, out.byteOffset + at, L.fuse_init_out.size).fill(0);
    if (major > FUSE_KERNEL_VERSION) {
      // Newer kernel major: answer with ours only; the kernel retries INIT with it.
      out.setUint32(at + o.major, FUSE_KERNEL_VERSION, true);
      return { kind: "reply", length: writeOutHeader(out, unique, 0, L.fuse_init_out.size) };
    }
    if (major < FUSE_KERNEL_VERSION || minor < 23) {
      return { kind: "reply", length: writeOutHeader(out, unique, -E.EPROTO, 0) };
    }
    const wanted = C.FUSE_ASYNC_READ | C.FUSE_BIG_WRITES | C.FUSE_ASYNC_DIO | C.FUSE_MAX_PAGES;
    const flags = kernelFlags & wanted;
    const session: FuseSession = {
      minor: Math.min(minor, FUSE_KERNEL_MINOR_VERSION),
      flags,
      maxWriteBytes: (flags & C.FUSE_MAX_PAGES) !== 0
        ? this.maxTransferBytes
        : Math.min(this.maxTransferBytes, 128 * 1024),
    };
    this.#session = session;
    out.setUint32(at + o.major, FUSE_KERNEL_VERSION, true);
    out.setUint32(at + o.minor, session.minor, true);
    out.setUint32(at + o.max_readahead, maxReadahead, true);
    out.setUint32(at + o.flags, flags, true);
    out.setUint16(at + o.max_background, this.#maxBackground, true);
    out.setUint16(at + o.congestion_threshold, Math.floor(this.#maxBackground * 3 / 4), true);
    out.setUint32(at + o.max_write, session.maxWriteBytes, true);
    out.setUint32(at + o.time_gran, 1, true);
    out.setUint16(at + o.max_pages, session.maxWriteBytes / 4096, true);
    return { kind: "reply", length: writeOutHeader(out, unique, 0, L.fuse_init_out.size) };
  }

  #attr(out: DataView, at: number, nodeid: number): void {
    const f = L.fuse_attr.fields;
    new Uint8Array(out.buffer, out.byteOffset + at, L.fuse_attr.size).fill(0);
    const file = nodeid === SWAP_FILE_NODE;
    const size = file ? this.sizeBytes : 0;
    out.setBigUint64(at + f.ino, BigInt(nodeid), true);
    out.setBigUint64(at + f.size, BigInt(size), true);
    out.setBigUint64(at + f.blocks, BigInt(Math.ceil(size / 512)), true);
    for (const field of [f.atime, f.mtime, f.ctime]) {
      out.setBigUint64(at + field, BigInt(this.#timeSec), true);
    }
    out.setUint32(at + f.mode, file ? 0o100600 : 0o40700, true);
    out.setUint32(at + f.nlink, file ? 1 : 2, true);
    out.setUint32(at + f.blksize, 4096, true);
  }

  #entry(out: DataView, nodeid: number): void {
    const f = L.fuse_entry_out.fields;
    const at = OUT_HEADER;
    out.setBigUint64(at + f.nodeid, BigInt(nodeid), true);
    out.setBigUint64(at + f.generation, 1n, true);
    out.setBigUint64(at + f.entry_valid, BigInt(CACHE_SECONDS), true);
    out.setBigUint64(at + f.attr_valid, BigInt(CACHE_SECONDS), true);
    out.setUint32(at + f.entry_valid_nsec, 0, true);
    out.setUint32(at + f.attr_valid_nsec, 0, true);
    this.#attr(out, at + f.attr, nodeid);
  }

  #attrOut(out: DataView, nodeid: number): void {
    const f = L.fuse_attr_out.fields;
    const at = OUT_HEADER;
    out.setBigUint64(at + f.attr_valid, BigInt(CACHE_SECONDS), true);
    out.setUint32(at + f.attr_valid_nsec, 0, true);
    out.setUint32(at + f.attr_valid_nsec + 4, 0, true);
    this.#attr(out, at + f.attr, nodeid);
  }

  #statfs(out: DataView): void {
    const f = L.fuse_kstatfs.fields;
    const at = OUT_HEADER;
    new Uint8Array(out.buffer, out.byteOffset + at, L.fuse_kstatfs.size).fill(0);
    const blocks = BigInt(this.sizeBytes / 4096);
    out.setBigUint64(at + f.blocks, blocks, true);
    out.setBigUint64(at + f.files, 1n, true);
    out.setUint32(at + f.bsize, 4096, true);
    out.setUint32(at + f.namelen, 255, true);
    out.setUint32(at + f.frsize, 4096, true);
  }

  /** Directory entries ".", "..", "swap", from the requested offset, as fits in `size`. */
  #readdir(inView: DataView, reply: Uint8Array): number {
    const offset = Number(inView.getBigUint64(IN_HEADER + L.fuse_read_in.fields.offset, true));
    const size = inView.getUint32(IN_HEADER + L.fuse_read_in.fields.size, true);
    const entries: [number, string, number][] = [
      [C.FUSE_ROOT_ID, ".", 4],
      [C.FUSE_ROOT_ID, "..", 4],
      [SWAP_FILE_NODE, SWAP_FILE_NAME, 8],
    ];
    const out = new DataView(reply.buffer, reply.byteOffset, reply.length);
    const f = L.fuse_dirent.fields;
    let at = OUT_HEADER;
    for (let i = offset; i < entries.length; i++) {
      const [ino, name, type] = entries[i] ?? [0, "", 0];
      const nameBytes = new TextEncoder().encode(name);
      const recordBytes = Math.ceil((L.fuse_dirent.size + nameBytes.length) / 8) * 8;
      if (at - OUT_HEADER + recordBytes > size || at + recordBytes > reply.length) break;
      reply.fill(0, at, at + recordBytes);
      out.setBigUint64(at + f.ino, BigInt(ino), true);
      out.setBigUint64(at + f.off, BigInt(i + 1), true);
      out.setUint32(at + f.namelen, nameBytes.length, true);
      out.setUint32(at + f.type, type, true);
      reply.set(nameBytes, at + f.name);
      at += recordBytes;
    }
    return at - OUT_HEADER;
  }
}

function writeOutHeader(
  out: DataView,
  unique: bigint,
  error: number,
  payloadBytes: number,
): number {
  const length = OUT_HEADER + payloadBytes;
  out.setUint32(L.fuse_out_header.fields.len, length, true);
  out.setInt32(L.fuse_out_header.fields.error, error, true);
  out.setBigUint64(L.fuse_out_header.fields.unique, unique, true);
  return length;
}

function cName(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end === -1 ? bytes : bytes.subarray(0, end));
}
