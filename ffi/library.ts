/**
 * Loading of shared libraries. Every `Deno.dlopen` in the project goes through here, so a
 * missing library always fails with the same clear message listing the paths tried.
 * @module
 */

/** A library could not be opened from any of the candidate paths. */
export class LibraryLoadError extends Error {
  readonly library: string;
  readonly tried: readonly string[];
  constructor(library: string, tried: readonly string[], causes: readonly unknown[]) {
    const details = tried.map((path, i) => `  ${path}: ${errorText(causes[i])}`).join("\n");
    super(`Cannot load ${library}; tried:\n${details}`, { cause: causes.at(-1) });
    this.name = "LibraryLoadError";
    this.library = library;
    this.tried = tried;
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message.split("\n")[0] ?? "" : String(error);
}

/**
 * Opens the first of `paths` that loads. An environment variable, when set, names the only
 * path to try (for example `SPIRIT_LIBIBVERBS=/opt/rdma/lib/libibverbs.so.1`).
 */
export function openLibrary<S extends Deno.ForeignLibraryInterface>(
  library: string,
  paths: readonly string[],
  symbols: S,
  options: { envOverride?: string } = {},
): Deno.DynamicLibrary<S> {
  const override = options.envOverride === undefined
    ? undefined
    : Deno.env.get(options.envOverride);
  const candidates = override ? [override] : paths;
  const causes: unknown[] = [];
  for (const path of candidates) {
    try {
      return Deno.dlopen(path, symbols);
    } catch (error) {
      causes.push(error);
    }
  }
  throw new LibraryLoadError(library, candidates, causes);
}

/** Candidate paths of the C library on glibc systems (x86_64 and aarch64 Debian layouts first). */
export const LIBC_PATHS: readonly string[] = [
  "libc.so.6",
  "/lib/x86_64-linux-gnu/libc.so.6",
  "/lib/aarch64-linux-gnu/libc.so.6",
  "/usr/lib64/libc.so.6",
];
