/**
 * The connector of a simulated host: `exec` understands the few commands a run sends (mkdir,
 * writing the secret, rm) against the host's little file system, `spawn` starts simulated memory
 * servers and agent sessions; an unreachable host fails like ssh does.
 * @module
 */
import { HOST_DIR_SCRIPT_NAME } from "../run/host_dir.ts";
import { RemoteCommandError, SshConnectionError } from "../connectors/errors.ts";
import type {
  Connector,
  ExecOptions,
  ExecResult,
  RemoteProcess,
  SpawnOptions,
} from "../connectors/types.ts";
import type { SimProcess } from "./sim_process.ts";
import type { SimHost, SimWorld } from "./sim_world.ts";

const encoder = new TextEncoder();

function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/")) || "/";
}

/** How a run reaches one simulated host. */
export class SimConnector implements Connector {
  readonly host: string;
  readonly #world: SimWorld;
  readonly #simHost: SimHost;
  #closed = false;

  constructor(world: SimWorld, host: SimHost) {
    this.#world = world;
    this.#simHost = host;
    this.host = host.name;
  }

  #reachable(): void {
    if (this.#closed) throw new Error(`The connection to ${this.host} is closed`);
    const why = this.#world.unreachable(this.host);
    if (why !== null) {
      throw new SshConnectionError({ host: this.host, attempts: 1, stderr: why, transient: true });
    }
  }

  /** Runs one of the commands a run sends; anything else exits 127. */
  // deno-lint-ignore require-await
  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    this.#reachable();
    const [program, ...args] = argv;
    const paths = this.#simHost.paths;
    let code = 0;
    let stderr = "";
    let stdout = "";
    if (program === "sh" && args[2] === HOST_DIR_SCRIPT_NAME) {
      // createPrivateHostDir: a new directory, owned by the (simulated) user, mode 0700.
      const path = args[3] ?? "";
      for (let p = path; p !== "/" && p !== ""; p = parentOf(p)) paths.add(p);
      stdout = "0 0 700\n";
    } else if (program === "mkdir") {
      const path = args.at(-1) ?? "";
      for (let p = path; p !== "/" && p !== ""; p = parentOf(p)) paths.add(p);
    } else if (program === "sh" && args[1]?.includes('cat > "$1"')) {
      const file = args[3] ?? "";
      if (paths.has(parentOf(file))) paths.add(file);
      else {
        code = 1;
        stderr = `sh: 1: cannot create ${file}: Directory nonexistent\n`;
      }
    } else if (program === "rm") {
      const path = args.at(-1) ?? "";
      for (const p of [...paths]) if (p === path || p.startsWith(`${path}/`)) paths.delete(p);
    } else {
      code = 127;
      stderr = `${program}: not simulated\n`;
    }
    if (code !== 0 && options.check !== false) {
      throw new RemoteCommandError({ host: this.host, argv, code, stderr });
    }
    return { code, stdout, stderr, stdoutBytes: encoder.encode(stdout) };
  }

  /** Starts `spirit memserver` or `spirit agent` on the host. */
  // deno-lint-ignore require-await
  async spawn(argv: readonly string[], _options: SpawnOptions = {}): Promise<RemoteProcess> {
    this.#reachable();
    const command = argv[1];
    let process: SimProcess;
    if (command === "memserver") process = this.#world.startMemserver(this.#simHost, argv);
    else if (command === "agent") process = this.#world.startAgentSession(this.#simHost, argv);
    else throw new Error(`Cannot simulate ${JSON.stringify(argv)} on ${this.host}`);
    return process;
  }

  /** Not needed by a simulated run (nothing is deployed). */
  put(localPath: string, remotePath: string): Promise<void> {
    return Promise.reject(
      new Error(`Copying ${localPath} to ${this.host}:${remotePath} is not simulated`),
    );
  }

  /** Not needed by a simulated run. */
  get(remotePath: string): Promise<void> {
    return Promise.reject(new Error(`Copying ${this.host}:${remotePath} is not simulated`));
  }

  /** Closes the connection; idempotent. */
  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
