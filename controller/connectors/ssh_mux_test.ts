import assert from "node:assert/strict";
import { muxPacket, MuxProtocolError, terminateMaster } from "./ssh_mux.ts";

/** A fake master on a Unix socket: answers each packet the client sends with `answers`. */
async function fakeMaster(
  answers: Uint8Array[],
): Promise<{ path: string; received: Promise<number[][]>; close(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "spirit-mux-test-" });
  const path = `${dir}/m`;
  const listener = Deno.listen({ transport: "unix", path });
  const received = (async () => {
    const packets: number[][] = [];
    const conn = await listener.accept();
    const buffer = new Uint8Array(1024);
    let pending: number[] = [];
    for (const answer of answers) {
      // One packet of words from the client, then the answer.
      for (;;) {
        const length = pending.length >= 4
          ? new DataView(new Uint8Array(pending.slice(0, 4)).buffer).getUint32(0)
          : -1;
        if (length >= 0 && pending.length >= 4 + length) {
          const view = new DataView(new Uint8Array(pending.slice(4, 4 + length)).buffer);
          packets.push(Array.from({ length: length / 4 }, (_, i) => view.getUint32(4 * i)));
          pending = pending.slice(4 + length);
          break;
        }
        const n = await conn.read(buffer);
        if (n === null) return packets;
        pending.push(...buffer.subarray(0, n));
      }
      if (answer.length > 0) await conn.write(answer);
    }
    await conn.read(buffer).catch(() => null);
    conn.close();
    return packets;
  })();
  return {
    path,
    received,
    async close() {
      listener.close();
      await received.catch(() => undefined);
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A packet of a type, a request id and a string. */
function withString(type: number, id: number, text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  const out = new Uint8Array(16 + bytes.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 12 + bytes.length);
  view.setUint32(4, type);
  view.setUint32(8, id);
  view.setUint32(12, bytes.length);
  out.set(bytes, 16);
  return out;
}

const HELLO_V4 = muxPacket(0x00000001, 4);

Deno.test("terminateMaster says hello, asks to terminate and takes the master's ok", async () => {
  const master = await fakeMaster([HELLO_V4, muxPacket(0x80000001, 1)]);
  try {
    assert.equal(await terminateMaster(master.path), true);
    assert.deepEqual(await master.received, [[0x00000001, 4], [0x10000005, 1]]);
  } finally {
    await master.close();
  }
});

Deno.test("terminateMaster: a master that exits without answering the request has agreed", async () => {
  // OpenSSH's master sets quit_pending and may exit before its ok is written.
  const master = await fakeMaster([HELLO_V4]);
  try {
    assert.equal(await terminateMaster(master.path), true);
    assert.deepEqual(await master.received, [[0x00000001, 4]]);
  } finally {
    await master.close();
  }
});

Deno.test("terminateMaster: no master listening is false, not an error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "spirit-mux-test-" });
  try {
    assert.equal(await terminateMaster(`${dir}/none`), false);
    // A socket left behind by a master that is gone.
    const listener = Deno.listen({ transport: "unix", path: `${dir}/stale` });
    listener.close();
    await Deno.writeFile(`${dir}/stale`, new Uint8Array()).catch(() => undefined);
    assert.equal(await terminateMaster(`${dir}/stale`).catch((e) => e), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("terminateMaster names a refusal, another protocol and silence", async () => {
  const cases: Array<[Uint8Array[], RegExp]> = [
    [[HELLO_V4, withString(0x80000002, 1, "confirmation refused")], /refused.*confirmation/],
    [[muxPacket(0x00000001, 3)], /mux protocol 3/],
    [[], /closed the connection before its hello/],
    [[muxPacket(0x80000001, 1)], /not a hello/],
    [[HELLO_V4, muxPacket(0x80000004, 1)], /unexpected answer 0x80000004/],
    [[HELLO_V4, new Uint8Array([0xff, 0xff, 0xff, 0xff])], /packet of 4294967295 bytes/],
    [[HELLO_V4, new Uint8Array()], /did not answer in time/],
  ];
  for (const [answers, message] of cases) {
    const master = await fakeMaster(answers);
    try {
      await assert.rejects(
        terminateMaster(master.path, { timeoutMs: 200 }),
        (error: unknown) => error instanceof MuxProtocolError && message.test(error.message),
        String(message),
      );
    } finally {
      await master.close();
    }
  }
});
