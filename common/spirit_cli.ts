/**
 * Where the host command line this process runs from lives, so spirit can start more of itself
 * (the agent daemon, workloads): the checkout's host/cli.ts, or, when this code was bundled
 * (`deno bundle`, as deployed to remote hosts), the bundle itself.
 * @module
 */

/** Path of the host CLI entry point: host/cli.ts in a checkout, the bundle file when bundled. */
export function spiritCliPath(): string {
  // Bundled, every module's import.meta.url is the bundle's own (a .js file), whose entry
  // point is host/cli.ts.
  const bundled = !import.meta.url.endsWith(".ts");
  return new URL(bundled ? import.meta.url : "../host/cli.ts", import.meta.url).pathname;
}
