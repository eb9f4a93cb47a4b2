/**
 * Builders of FUSE requests as the kernel writes them, for the tests of the one-file
 * filesystem and the I/O loop (test-only helpers beside the code they serve).
 * @module
 */
import { FUSE_CONSTANTS as C, FUSE_LAYOUTS as L } from "../ffi/fuse_abi.ts";

/** A request: in-header then `args`. */
export function fuseRequest(
  opcode: number,
  unique: number,
  nodeid: number,
  args: Uint8Array = new Uint8Array(0),
): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(L.fuse_in_header.size + args.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(L.fuse_in_header.fields.len, bytes.length, true);
  view.setUint32(L.fuse_in_header.fields.opcode, opcode, true);
  view.setBigUint64(L.fuse_in_header.fields.unique, BigInt(unique), true);
  view.setBigUint64(L.fuse_in_header.fields.nodeid, BigInt(nodeid), true);
  bytes.set(args, L.fuse_in_header.size);
  return bytes;
}

/** READ of `size` bytes at `offset`. */
export function readArgs(offset: number, size: number): Uint8Array {
  const args = new Uint8Array(L.fuse_read_in.size);
  const view = new DataView(args.buffer);
  view.setBigUint64(L.fuse_read_in.fields.offset, BigInt(offset), true);
  view.setUint32(L.fuse_read_in.fields.size, size, true);
  return args;
}

/** WRITE of `data` at `offset`. */
export function writeArgs(offset: number, data: Uint8Array): Uint8Array {
  const args = new Uint8Array(L.fuse_write_in.size + data.length);
  const view = new DataView(args.buffer);
  view.setBigUint64(L.fuse_write_in.fields.offset, BigInt(offset), true);
  view.setUint32(L.fuse_write_in.fields.size, data.length, true);
  args.set(data, L.fuse_write_in.size);
  return args;
}

/** FALLOCATE of `length` bytes at `offset` with `mode`. */
export function fallocateArgs(offset: number, length: number, mode: number): Uint8Array {
  const args = new Uint8Array(L.fuse_fallocate_in.size);
  const view = new DataView(args.buffer);
  view.setBigUint64(L.fuse_fallocate_in.fields.offset, BigInt(offset), true);
  view.setBigUint64(L.fuse_fallocate_in.fields.length, BigInt(length), true);
  view.setUint32(L.fuse_fallocate_in.fields.mode, mode, true);
  return args;
}

/** INIT from a kernel speaking 7.`minor` with `flags`. */
export function initArgs(minor: number, flags: number): Uint8Array {
  const args = new Uint8Array(L.fuse_init_in.size);
  const view = new DataView(args.buffer);
  view.setUint32(L.fuse_init_in.fields.major, 7, true);
  view.setUint32(L.fuse_init_in.fields.minor, minor, true);
  view.setUint32(L.fuse_init_in.fields.max_readahead, 128 * 1024, true);
  view.setUint32(L.fuse_init_in.fields.flags, flags, true);
  return args;
}

/** The out-header of a reply: its length, error and unique. */
export function replyHeader(reply: Uint8Array): { len: number; error: number; unique: number } {
  const view = new DataView(reply.buffer, reply.byteOffset, reply.length);
  return {
    len: view.getUint32(L.fuse_out_header.fields.len, true),
    error: view.getInt32(L.fuse_out_header.fields.error, true),
    unique: Number(view.getBigUint64(L.fuse_out_header.fields.unique, true)),
  };
}

export { C as FUSE };
