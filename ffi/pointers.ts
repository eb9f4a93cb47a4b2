/**
 * Pointer arithmetic for code outside ffi/ (memory regions registered for RDMA, handles used as
 * map keys), so that no other folder calls `Deno.UnsafePointer` itself.
 * @module
 */

/** The address of a pointer as a bigint (0n for null), e.g. to key a map by handle. */
export function pointerAddress(pointer: Deno.PointerValue): bigint {
  return BigInt(Deno.UnsafePointer.value(pointer));
}

/** The address of the first byte of `buffer`. */
export function pointerOf(buffer: Uint8Array): Deno.PointerValue {
  return Deno.UnsafePointer.of(buffer as Uint8Array<ArrayBuffer>);
}

/** `base + offset` bytes. */
export function pointerOffset(base: Deno.PointerObject, offset: number): Deno.PointerValue {
  return Deno.UnsafePointer.offset(base, offset);
}
