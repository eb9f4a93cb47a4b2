/**
 * Anonymous memory mappings through libc (mmap, munmap, madvise), for the memory server's pool.
 * Huge pages (MAP_HUGETLB) are used when the kernel has enough reserved; otherwise ordinary
 * pages with a transparent-huge-page hint (MADV_HUGEPAGE).
 * @module
 */
import { libc, readErrno } from "./libc.ts";

const PROT_READ = 0x1;
const PROT_WRITE = 0x2;
const MAP_PRIVATE = 0x02;
const MAP_ANONYMOUS = 0x20;
const MAP_NORESERVE = 0x4000;
const MAP_POPULATE = 0x8000;
const MAP_HUGETLB = 0x40000;
const MADV_HUGEPAGE = 14;
/** mmap returns (void *) -1 on failure. */
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

/** Size of a default huge page on x86_64 and aarch64 (4 KiB base pages). */
export const HUGE_PAGE_BYTES = 2 * 1024 * 1024;

/** What kind of pages back a mapping. */
export type PageKind = "hugetlb" | "transparent-huge" | "ordinary";

/** Options of {@linkcode mapAnonymous}. */
export interface MapOptions {
  /** Try MAP_HUGETLB first (default true); falls back to ordinary pages when it fails. */
  hugePages?: boolean;
  /** Touch every page now (MAP_POPULATE) so the memory is committed at start (default false). */
  populate?: boolean;
}

/**
 * An anonymous, private, read-write mapping. The memory is released by `close()` (idempotent);
 * views obtained from `bytes` must not be used afterwards.
 */
export class AnonymousMapping {
  readonly #pointer: Deno.PointerObject;
  readonly #bytes: Uint8Array;
  /** Length of the mapping in bytes. */
  readonly sizeBytes: number;
  /** Which pages back the mapping. */
  readonly pageKind: PageKind;
  readonly #mappedBytes: number;
  #closed = false;

  /** Wraps a mapping made by {@linkcode mapAnonymous} (`mappedBytes` as passed to mmap). */
  constructor(
    pointer: Deno.PointerObject,
    sizeBytes: number,
    options: { pageKind: PageKind; mappedBytes: number },
  ) {
    this.#pointer = pointer;
    this.sizeBytes = sizeBytes;
    this.pageKind = options.pageKind;
    this.#mappedBytes = options.mappedBytes;
    this.#bytes = new Uint8Array(new Deno.UnsafePointerView(pointer).getArrayBuffer(sizeBytes));
  }

  /** The whole mapping as bytes. */
  get bytes(): Uint8Array {
    if (this.#closed) throw new TypeError("The memory mapping is closed");
    return this.#bytes;
  }

  /** The base address, for registration with RDMA devices (ibv_reg_mr). */
  get pointer(): Deno.PointerObject {
    if (this.#closed) throw new TypeError("The memory mapping is closed");
    return this.#pointer;
  }

  /** True once `close()` ran. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Unmaps the memory. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const result = libc().symbols.munmap(this.#pointer, BigInt(this.#mappedBytes));
    if (result !== 0) {
      throw new Error(`munmap of ${this.sizeBytes} bytes failed with errno ${readErrno()}`);
    }
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** mmap could not reserve the memory. */
export class MapError extends Error {
  readonly sizeBytes: number;
  readonly errno: number;
  /** Creates the error for a failed mapping of `sizeBytes`. */
  constructor(sizeBytes: number, errnoValue: number) {
    super(`mmap of ${sizeBytes} bytes failed with errno ${errnoValue}`);
    this.name = "MapError";
    this.sizeBytes = sizeBytes;
    this.errno = errnoValue;
  }
}

function tryMap(sizeBytes: number, flags: number): Deno.PointerObject | undefined {
  const pointer = libc().symbols.mmap(
    null,
    BigInt(sizeBytes),
    PROT_READ | PROT_WRITE,
    flags,
    -1,
    0n,
  );
  if (pointer === null || Deno.UnsafePointer.value(pointer) === MAP_FAILED) return undefined;
  return pointer;
}

/**
 * Maps `sizeBytes` of anonymous memory: huge pages (MAP_HUGETLB, size rounded up to 2 MiB) when
 * the kernel has them reserved, otherwise ordinary pages advised for transparent huge pages.
 * @example using pool = mapAnonymous(64 * 1024 * 1024); pool.bytes[0] = 1;
 */
export function mapAnonymous(sizeBytes: number, options: MapOptions = {}): AnonymousMapping {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0) {
    throw new RangeError(`Invalid mapping size ${sizeBytes}: expected a positive integer`);
  }
  const base = MAP_PRIVATE | MAP_ANONYMOUS | (options.populate ? MAP_POPULATE : 0);
  if (options.hugePages ?? true) {
    const hugeSize = Math.ceil(sizeBytes / HUGE_PAGE_BYTES) * HUGE_PAGE_BYTES;
    const huge = tryMap(hugeSize, base | MAP_HUGETLB);
    if (huge !== undefined) {
      return new AnonymousMapping(huge, sizeBytes, { pageKind: "hugetlb", mappedBytes: hugeSize });
    }
  }
  const pointer = tryMap(sizeBytes, base | MAP_NORESERVE);
  if (pointer === undefined) throw new MapError(sizeBytes, readErrno());
  const advised = libc().symbols.madvise(pointer, BigInt(sizeBytes), MADV_HUGEPAGE) === 0;
  return new AnonymousMapping(pointer, sizeBytes, {
    pageKind: advised ? "transparent-huge" : "ordinary",
    mappedBytes: sizeBytes,
  });
}
