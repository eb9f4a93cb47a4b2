import assert from "node:assert/strict";
import { FAKE_RDMA_PREREQS, useFakeRdmaInProcess } from "../test/fixtures/fake_rdma/build.ts";
import { systemTest } from "../test/prereq.ts";
import { CompletionQueue, MemoryRegion, ProtectionDomain } from "./ibverbs.ts";
import { CmId, EventChannel, type QueuePair } from "./rdmacm.ts";
import { bindPostRecv, type CallPath, SendQueue } from "./verbs_ops.ts";
import { CONSTANTS, LAYOUTS } from "./verbs_structs.ts";

/** A QP on a bound (never connected) CM id of the test double, with its CQ and a local MR. */
async function withQp(
  fn: (parts: { id: CmId; qp: QueuePair; cq: CompletionQueue; mr: MemoryRegion }) => void,
): Promise<void> {
  await using fake = await useFakeRdmaInProcess();
  {
    await using channel = new EventChannel();
    using id = CmId.create(channel);
    id.bind("127.0.0.1", 0);
    const context = id.verbs;
    assert.ok(context !== null);
    using pd = new ProtectionDomain(context);
    using cq = new CompletionQueue(context, { entries: 8 });
    const memory = new Uint8Array(new ArrayBuffer(8192));
    const pointer = Deno.UnsafePointer.of(memory);
    assert.ok(pointer !== null);
    using mr = new MemoryRegion(pd, { pointer, lengthBytes: memory.length }, { localWrite: true });
    using qp = id.createQp(pd, {
      sendCq: cq.pointer,
      recvCq: cq.pointer,
      maxSendWr: 4,
      maxRecvWr: 4,
    });
    fn({ id, qp, cq, mr });
  }
  assert.equal(fake.liveObjects(), 0);
}

function queue(
  parts: { id: CmId; qp: QueuePair; cq: CompletionQueue; mr: MemoryRegion },
  path?: CallPath,
): SendQueue {
  const context = parts.id.verbs;
  assert.ok(context !== null);
  return new SendQueue({
    context,
    qp: parts.qp.pointer,
    cq: parts.cq,
    depth: 4,
    local: parts.mr,
    rkey: 1,
    ...(path === undefined ? {} : { path }),
  });
}

for (const path of ["libffi", "fnpointer"] as const) {
  systemTest(
    `SendQueue (${path}) completes work requests on an unconnected QP as flushed`,
    FAKE_RDMA_PREREQS,
    () =>
      withQp((parts) => {
        const sq = queue(parts, path);
        assert.equal(sq.callPath, path);
        assert.deepEqual(sq.poll(), []);
        sq.post([
          { kind: "write", localOffset: 0, lengthBytes: 4096, remoteAddress: 0x1000n },
          { kind: "read", localOffset: 4096, lengthBytes: 4096, remoteAddress: 0x2000n },
        ], 40n);
        const completions = sq.poll();
        assert.deepEqual(completions.map((c) => c.wrId), [40n, 41n]);
        assert.ok(completions.every((c) => c.status === CONSTANTS.IBV_WC_WR_FLUSH_ERR));
        sq.requestNotify();
      }),
  );
}

systemTest(
  "SendQueue refuses more work requests than its depth",
  FAKE_RDMA_PREREQS,
  () =>
    withQp((parts) => {
      const sq = queue(parts);
      const op = { kind: "write" as const, localOffset: 0, lengthBytes: 16, remoteAddress: 0n };
      assert.throws(() => sq.post([op, op, op, op, op], 1n), /cannot post 5 work requests/);
      assert.throws(
        () => sq.post([{ ...op, localOffset: 8190 }], 1n),
        /outside the registered buffer/,
      );
    }),
);

systemTest(
  "bindPostRecv posts a receive through the ops table",
  FAKE_RDMA_PREREQS,
  () =>
    withQp((parts) => {
      const context = parts.id.verbs;
      const qp = new Deno.UnsafePointerView(parts.id.pointer).getPointer(
        LAYOUTS.rdma_cm_id.fields.qp,
      );
      assert.ok(context !== null && qp !== null);
      const recvWr = new Uint8Array(new ArrayBuffer(LAYOUTS.ibv_recv_wr.size));
      const badWr = new BigUint64Array(new ArrayBuffer(8));
      const post = bindPostRecv({ context, qp: parts.qp.pointer, recvWr, badWr, path: "libffi" });
      assert.equal(post.call(), 0);
    }),
);
