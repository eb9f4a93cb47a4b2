/**
 * Draining an app's stdout and stderr: every byte goes to a sink (a log file, or the terminal
 * for `spirit exec`), and every line to a listener (the `log` throughput source).
 * @module
 */

/** Where an app's output bytes go. */
export type OutputSink = (stream: "stdout" | "stderr", bytes: Uint8Array) => Promise<void> | void;

/** Reads `stream` to its end, passing bytes to `sink` and complete lines to `onLine`. */
export async function pumpOutput(
  stream: ReadableStream<Uint8Array>,
  options: {
    name: "stdout" | "stderr";
    sink: OutputSink;
    onLine: (stream: "stdout" | "stderr", line: string) => void;
  },
): Promise<void> {
  const decoder = new TextDecoder();
  let partial = "";
  for await (const chunk of stream) {
    await options.sink(options.name, chunk);
    partial += decoder.decode(chunk, { stream: true });
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) options.onLine(options.name, line);
  }
  if (partial.length > 0) options.onLine(options.name, partial);
}

/** A sink appending both streams to one file; `close()` when the app is gone. */
export async function fileSink(path: string): Promise<{ sink: OutputSink; close: () => void }> {
  const file = await Deno.open(path, { create: true, append: true, mode: 0o600 });
  let closed = false;
  return {
    sink: async (_stream, bytes) => {
      if (closed) return;
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
    },
    close: () => {
      if (closed) return;
      closed = true;
      file.close();
    },
  };
}
