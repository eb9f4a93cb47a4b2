/**
 * The one place an argv becomes a string: quoting for the remote POSIX shell that OpenSSH
 * hands the command line to. Pure.
 * @module
 */

const SAFE = /^[A-Za-z0-9_\/.,:@%+-]+$/;

/**
 * Quotes `argv` so a POSIX shell (sh, dash, bash, zsh) splits it back into exactly these words,
 * with no expansion of any kind. Words made only of safe characters stay bare; everything else
 * is single-quoted, with embedded single quotes written as `'\''`.
 * @throws {TypeError} when a word contains a NUL byte (no shell or exec can carry it).
 * @example quoteArgv(["echo", "it's $HOME"]) // "echo 'it'\\''s $HOME'"
 */
export function quoteArgv(argv: readonly string[]): string {
  return argv.map((word, index) => {
    if (word.includes("\0")) {
      throw new TypeError(`Cannot quote argv[${index}] for a shell: it contains a NUL byte`);
    }
    return SAFE.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
  }).join(" ");
}
