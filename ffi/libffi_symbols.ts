/**
 * Symbol table of libffi (libffi8), used to call C function pointers from the verbs ops table
 * with a V8 fast call instead of `Deno.UnsafeFnPointer`.
 * @module
 */

/** libffi symbols: functions and the `ffi_type` statics (Deno yields a static's address). */
export const LIBFFI_SYMBOLS = {
  ffi_prep_cif: {
    parameters: [
      "pointer", // ffi_cif *cif
      "i32", // ffi_abi abi
      "u32", // unsigned int nargs
      "pointer", // ffi_type *rtype
      "pointer", // ffi_type **atypes
    ],
    result: "i32", // ffi_status
  },
  ffi_call: {
    parameters: [
      "pointer", // ffi_cif *cif
      "pointer", // void (*fn)(void)
      "pointer", // void *rvalue
      "pointer", // void **avalue
    ],
    result: "void",
  },
  ffi_type_pointer: { type: "pointer" }, // ffi_type ffi_type_pointer
  ffi_type_sint32: { type: "pointer" }, // ffi_type ffi_type_sint32
} as const satisfies Deno.ForeignLibraryInterface;

/** Candidate paths of libffi (Debian libffi8 first, then other distributions). */
export const LIBFFI_PATHS: readonly string[] = [
  "libffi.so.8",
  "/usr/lib/x86_64-linux-gnu/libffi.so.8",
  "/usr/lib/aarch64-linux-gnu/libffi.so.8",
  "/usr/lib64/libffi.so.8",
  "libffi.so.7",
  "libffi.so",
];
