/**
 * The FUSE kernel ABI (`<linux/fuse.h>`, protocol 7.x) as plain data: struct layouts, opcodes
 * and flags, for LP64 Linux. Every size, offset and constant here is checked against the
 * installed header by `fuse_abi_test.ts` (gcc, `offsetof`/`sizeof`). Pure: no FFI.
 * @module
 */
import type { StructLayout } from "./verbs_structs.ts";

/** The protocol version spirit speaks (the header it is checked against is 7.38). */
export const FUSE_KERNEL_VERSION = 7;
/** Highest minor version spirit speaks; the kernel and spirit settle on the lower of the two. */
export const FUSE_KERNEL_MINOR_VERSION = 38;

/** Headers the layouts are checked against. */
export const FUSE_LAYOUT_HEADERS: readonly string[] = ["linux/fuse.h"];

/** Layouts of every struct the swap daemon reads or writes. */
export const FUSE_LAYOUTS = {
  fuse_in_header: {
    cType: "struct fuse_in_header",
    size: 40,
    fields: { len: 0, opcode: 4, unique: 8, nodeid: 16, uid: 24, gid: 28, pid: 32 },
  },
  fuse_out_header: {
    cType: "struct fuse_out_header",
    size: 16,
    fields: { len: 0, error: 4, unique: 8 },
  },
  fuse_init_in: {
    cType: "struct fuse_init_in",
    size: 64,
    fields: { major: 0, minor: 4, max_readahead: 8, flags: 12, flags2: 16 },
  },
  fuse_init_out: {
    cType: "struct fuse_init_out",
    size: 64,
    fields: {
      major: 0,
      minor: 4,
      max_readahead: 8,
      flags: 12,
      max_background: 16,
      congestion_threshold: 18,
      max_write: 20,
      time_gran: 24,
      max_pages: 28,
      map_alignment: 30,
      flags2: 32,
    },
  },
  fuse_attr: {
    cType: "struct fuse_attr",
    size: 88,
    fields: {
      ino: 0,
      size: 8,
      blocks: 16,
      atime: 24,
      mtime: 32,
      ctime: 40,
      atimensec: 48,
      mtimensec: 52,
      ctimensec: 56,
      mode: 60,
      nlink: 64,
      uid: 68,
      gid: 72,
      rdev: 76,
      blksize: 80,
      flags: 84,
    },
  },
  fuse_entry_out: {
    cType: "struct fuse_entry_out",
    size: 128,
    fields: {
      nodeid: 0,
      generation: 8,
      entry_valid: 16,
      attr_valid: 24,
      entry_valid_nsec: 32,
      attr_valid_nsec: 36,
      attr: 40,
    },
  },
  fuse_attr_out: {
    cType: "struct fuse_attr_out",
    size: 104,
    fields: { attr_valid: 0, attr_valid_nsec: 8, attr: 16 },
  },
  fuse_open_in: { cType: "struct fuse_open_in", size: 8, fields: { flags: 0 } },
  fuse_open_out: {
    cType: "struct fuse_open_out",
    size: 16,
    fields: { fh: 0, open_flags: 8 },
  },
  fuse_read_in: {
    cType: "struct fuse_read_in",
    size: 40,
    fields: { fh: 0, offset: 8, size: 16, read_flags: 20 },
  },
  fuse_write_in: {
    cType: "struct fuse_write_in",
    size: 40,
    fields: { fh: 0, offset: 8, size: 16, write_flags: 20 },
  },
  fuse_write_out: { cType: "struct fuse_write_out", size: 8, fields: { size: 0 } },
  fuse_fallocate_in: {
    cType: "struct fuse_fallocate_in",
    size: 32,
    fields: { fh: 0, offset: 8, length: 16, mode: 24 },
  },
  fuse_kstatfs: {
    cType: "struct fuse_kstatfs",
    size: 80,
    fields: {
      blocks: 0,
      bfree: 8,
      bavail: 16,
      files: 24,
      ffree: 32,
      bsize: 40,
      namelen: 44,
      frsize: 48,
    },
  },
  fuse_interrupt_in: { cType: "struct fuse_interrupt_in", size: 8, fields: { unique: 0 } },
  fuse_setattr_in: {
    cType: "struct fuse_setattr_in",
    size: 88,
    fields: { valid: 0, fh: 8, size: 16 },
  },
  fuse_dirent: {
    cType: "struct fuse_dirent",
    size: 24,
    fields: { ino: 0, off: 8, namelen: 16, type: 20, name: 24 },
  },
} as const satisfies Record<string, StructLayout>;

/** Opcodes (`enum fuse_opcode`) and flags, checked against the header by name. */
export const FUSE_CONSTANTS = {
  FUSE_LOOKUP: 1,
  FUSE_FORGET: 2,
  FUSE_GETATTR: 3,
  FUSE_SETATTR: 4,
  FUSE_OPEN: 14,
  FUSE_READ: 15,
  FUSE_WRITE: 16,
  FUSE_STATFS: 17,
  FUSE_RELEASE: 18,
  FUSE_FSYNC: 20,
  FUSE_GETXATTR: 22,
  FUSE_LISTXATTR: 23,
  FUSE_FLUSH: 25,
  FUSE_INIT: 26,
  FUSE_OPENDIR: 27,
  FUSE_READDIR: 28,
  FUSE_RELEASEDIR: 29,
  FUSE_FSYNCDIR: 30,
  FUSE_ACCESS: 34,
  FUSE_INTERRUPT: 36,
  FUSE_DESTROY: 38,
  FUSE_BATCH_FORGET: 42,
  FUSE_FALLOCATE: 43,
  FUSE_ROOT_ID: 1,
  FUSE_ASYNC_READ: 1 << 0,
  FUSE_BIG_WRITES: 1 << 5,
  FUSE_ASYNC_DIO: 1 << 15,
  FUSE_MAX_PAGES: 1 << 22,
  FOPEN_DIRECT_IO: 1 << 0,
  FOPEN_PARALLEL_DIRECT_WRITES: 1 << 6,
  FUSE_MIN_READ_BUFFER: 8192,
  FATTR_SIZE: 1 << 3,
} as const;

/** fallocate(2) mode bits (`<linux/falloc.h>`): the swap discard is a punched hole. */
export const FALLOC_CONSTANTS = {
  FALLOC_FL_KEEP_SIZE: 0x01,
  FALLOC_FL_PUNCH_HOLE: 0x02,
} as const;

/** Headers that define {@link FALLOC_CONSTANTS}. */
export const FALLOC_HEADERS: readonly string[] = ["linux/falloc.h"];
