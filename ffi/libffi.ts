/**
 * Calls to C function pointers through libffi's `ffi_call`, itself a dlopen'ed symbol and so a
 * V8 fast call. Arguments are bound once into a prepared frame (`ffi_cif`, argument slots,
 * `avalue` array), so a call costs one fast FFI call plus one typed-array read.
 * @module
 */
import { openLibrary } from "./library.ts";
import { LIBFFI_PATHS, LIBFFI_SYMBOLS } from "./libffi_symbols.ts";
import { CONSTANTS, LAYOUTS } from "./verbs_structs.ts";

/** One argument of a bound call. */
export type BoundArg =
  | { readonly type: "pointer"; readonly value: Deno.PointerValue }
  | { readonly type: "i32"; readonly value: number };

/** A C call `int fn(args...)` whose arguments were fixed when it was bound. */
export interface BoundCall {
  /** Calls the function and returns its `int` result. */
  call(): number;
}

let libffi: Deno.DynamicLibrary<typeof LIBFFI_SYMBOLS> | undefined;

/** Loads libffi once (override the path with SPIRIT_LIBFFI). Throws LibraryLoadError. */
export function loadLibffi(): Deno.DynamicLibrary<typeof LIBFFI_SYMBOLS>["symbols"] {
  libffi ??= openLibrary("libffi", LIBFFI_PATHS, LIBFFI_SYMBOLS, { envOverride: "SPIRIT_LIBFFI" });
  return libffi.symbols;
}

function pointerBits(pointer: Deno.PointerValue): bigint {
  return BigInt(Deno.UnsafePointer.value(pointer));
}

/** Binds `int fn(args...)` for calls through `ffi_call`. */
export function bindLibffiCall(fn: Deno.PointerObject, args: readonly BoundArg[]): BoundCall {
  const ffi = loadLibffi();
  // Every buffer whose address C keeps is built on an explicit ArrayBuffer: V8 may keep small
  // typed arrays inside its (moving) heap, an ArrayBuffer's backing store never moves.
  const slots = new BigUint64Array(new ArrayBuffer(8 * Math.max(args.length, 1)));
  const slotBytes = new DataView(slots.buffer);
  const types = new BigUint64Array(new ArrayBuffer(8 * Math.max(args.length, 1)));
  args.forEach((arg, i) => {
    if (arg.type === "pointer") {
      slots[i] = pointerBits(arg.value);
      types[i] = pointerBits(ffi.ffi_type_pointer);
    } else {
      slotBytes.setInt32(i * 8, arg.value, true);
      types[i] = pointerBits(ffi.ffi_type_sint32);
    }
  });
  const slotsPointer = pointerBits(Deno.UnsafePointer.of(slots));
  const argValues = new BigUint64Array(new ArrayBuffer(8 * Math.max(args.length, 1)));
  args.forEach((_, i) => argValues[i] = slotsPointer + BigInt(i * 8));
  const cif = new Uint8Array(new ArrayBuffer(LAYOUTS.ffi_cif.size));
  const rvalue = new BigInt64Array(new ArrayBuffer(8)); // ffi_arg: ints are widened to a full register
  const status = ffi.ffi_prep_cif(
    Deno.UnsafePointer.of(cif),
    CONSTANTS.FFI_DEFAULT_ABI,
    args.length,
    ffi.ffi_type_sint32,
    Deno.UnsafePointer.of(types),
  );
  if (status !== 0) throw new Error(`ffi_prep_cif failed with status ${status}`);
  const cifPointer = Deno.UnsafePointer.of(cif);
  const rvaluePointer = Deno.UnsafePointer.of(rvalue);
  const argValuesPointer = Deno.UnsafePointer.of(argValues);
  const result = new Int32Array(rvalue.buffer);
  const frame = [slots, types, argValues, cif, rvalue];
  return {
    call(): number {
      ffi.ffi_call(cifPointer, fn, rvaluePointer, argValuesPointer);
      // `frame` is referenced so the buffers behind the raw pointers outlive every call.
      return result[0] ?? frame.length;
    },
  };
}

/** Binds `int fn(args...)` for calls through `Deno.UnsafeFnPointer`. */
export function bindFnPointerCall(fn: Deno.PointerObject, args: readonly BoundArg[]): BoundCall {
  const definition = {
    parameters: args.map((a) => a.type),
    result: "i32",
  } as const satisfies Deno.UnsafeCallbackDefinition;
  const pointer = new Deno.UnsafeFnPointer(fn as Deno.PointerObject<typeof definition>, definition);
  const values = args.map((a) => a.value);
  return {
    call(): number {
      return pointer.call(...values) as number;
    },
  };
}
