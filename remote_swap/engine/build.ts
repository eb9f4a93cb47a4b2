/**
 * Builds the swap engine from its embedded C source with gcc, once per source version, into a
 * root-only directory next to the device state (`<state root>/.engine-<hash>/swap_engine`).
 * `SPIRIT_SWAP_ENGINE` names a prebuilt binary instead (for nodes without gcc).
 * @module
 */
import { encodeHex } from "../../common/hex.ts";
import { SWAP_ENGINE_SOURCE } from "./source.ts";

/** The engine could not be built. */
export class EngineBuildError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "EngineBuildError";
  }
}

/** Returns the path of a built engine, building it under `root` when needed. */
export async function buildSwapEngine(root: string): Promise<string> {
  const prebuilt = Deno.env.get("SPIRIT_SWAP_ENGINE");
  if (prebuilt !== undefined) return prebuilt;
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(SWAP_ENGINE_SOURCE)),
  );
  const dir = `${root}/.engine-${encodeHex(digest).slice(0, 16)}`;
  const binary = `${dir}/swap_engine`;
  try {
    await Deno.stat(binary);
    return binary;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const source = `${dir}/swap_engine.c`;
  const partial = `${binary}.${Deno.pid}.tmp`;
  await Deno.writeTextFile(source, SWAP_ENGINE_SOURCE, { mode: 0o600 });
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("gcc", {
      args: ["-O2", "-Wall", "-pthread", "-o", partial, source],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new EngineBuildError(
        "building the swap engine needs gcc and the kernel and libc headers (Debian: gcc, " +
          "libc6-dev, linux-libc-dev), or SPIRIT_SWAP_ENGINE naming a prebuilt engine",
      );
    }
    throw error;
  }
  if (!output.success) {
    throw new EngineBuildError(
      `gcc failed to build the swap engine (${source}): ` +
        new TextDecoder().decode(output.stderr).trim().slice(-1000),
    );
  }
  await Deno.rename(partial, binary);
  return binary;
}
