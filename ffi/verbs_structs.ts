/**
 * Struct layouts and constants of libibverbs, librdmacm and libffi as plain data, for LP64 Linux
 * (x86_64, aarch64). Every offset, size and constant here is checked against the installed C
 * headers by `verbs_structs_test.ts`, which compiles a C program with `offsetof`/`sizeof`; a
 * field name is its C member designator, so the test can use it verbatim.
 * @module
 */

/** One C struct: its `struct` tag (or typedef name), header, size in bytes and field offsets. */
export interface StructLayout {
  /** The C type as written in a declaration, e.g. `struct ibv_sge` or `ffi_cif`. */
  readonly cType: string;
  /** Byte size (`sizeof`). */
  readonly size: number;
  /** Field offsets (`offsetof`), keyed by C member designator (`wr.rdma.rkey`). */
  readonly fields: Readonly<Record<string, number>>;
}

/** Layouts of every struct the FFI layer reads or writes. */
export const LAYOUTS = {
  ibv_context: {
    cType: "struct ibv_context",
    size: 328,
    fields: {
      device: 0,
      "ops.poll_cq": 96,
      "ops.req_notify_cq": 104,
      "ops.post_send": 208,
      "ops.post_recv": 216,
      cmd_fd: 264,
      async_fd: 268,
    },
  },
  ibv_device_attr: {
    cType: "struct ibv_device_attr",
    size: 232,
    fields: {
      max_mr_size: 80,
      max_qp_wr: 112,
      max_sge: 120,
      max_cqe: 132,
      max_qp_rd_atom: 144,
      max_qp_init_rd_atom: 156,
      phys_port_cnt: 227,
    },
  },
  ibv_pd: { cType: "struct ibv_pd", size: 16, fields: { context: 0, handle: 8 } },
  ibv_comp_channel: { cType: "struct ibv_comp_channel", size: 16, fields: { context: 0, fd: 8 } },
  ibv_cq: { cType: "struct ibv_cq", size: 128, fields: { context: 0, channel: 8, cqe: 28 } },
  ibv_qp: {
    cType: "struct ibv_qp",
    size: 160,
    fields: { context: 0, pd: 16, send_cq: 24, recv_cq: 32, qp_num: 52, state: 56 },
  },
  ibv_mr: {
    cType: "struct ibv_mr",
    size: 48,
    fields: { context: 0, pd: 8, addr: 16, length: 24, lkey: 36, rkey: 40 },
  },
  ibv_sge: { cType: "struct ibv_sge", size: 16, fields: { addr: 0, length: 8, lkey: 12 } },
  ibv_send_wr: {
    cType: "struct ibv_send_wr",
    size: 128,
    fields: {
      wr_id: 0,
      next: 8,
      sg_list: 16,
      num_sge: 24,
      opcode: 28,
      send_flags: 32,
      "wr.rdma.remote_addr": 40,
      "wr.rdma.rkey": 48,
    },
  },
  ibv_recv_wr: {
    cType: "struct ibv_recv_wr",
    size: 32,
    fields: { wr_id: 0, next: 8, sg_list: 16, num_sge: 24 },
  },
  ibv_wc: {
    cType: "struct ibv_wc",
    size: 48,
    fields: { wr_id: 0, status: 8, opcode: 12, vendor_err: 16, byte_len: 20, qp_num: 28 },
  },
  ibv_qp_init_attr: {
    cType: "struct ibv_qp_init_attr",
    size: 64,
    fields: {
      qp_context: 0,
      send_cq: 8,
      recv_cq: 16,
      srq: 24,
      "cap.max_send_wr": 32,
      "cap.max_recv_wr": 36,
      "cap.max_send_sge": 40,
      "cap.max_recv_sge": 44,
      "cap.max_inline_data": 48,
      qp_type: 52,
      sq_sig_all: 56,
    },
  },
  rdma_event_channel: { cType: "struct rdma_event_channel", size: 4, fields: { fd: 0 } },
  rdma_cm_id: {
    cType: "struct rdma_cm_id",
    size: 416,
    fields: {
      verbs: 0,
      channel: 8,
      context: 16,
      qp: 24,
      "route.addr.src_addr": 32,
      "route.addr.dst_addr": 160,
      pd: 400,
    },
  },
  rdma_conn_param: {
    cType: "struct rdma_conn_param",
    size: 24,
    fields: {
      private_data: 0,
      private_data_len: 8,
      responder_resources: 9,
      initiator_depth: 10,
      flow_control: 11,
      retry_count: 12,
      rnr_retry_count: 13,
      srq: 14,
      qp_num: 16,
    },
  },
  rdma_cm_event: {
    cType: "struct rdma_cm_event",
    size: 80,
    fields: {
      id: 0,
      listen_id: 8,
      event: 16,
      status: 20,
      "param.conn.private_data": 24,
      "param.conn.private_data_len": 32,
      "param.conn.responder_resources": 33,
      "param.conn.initiator_depth": 34,
    },
  },
  sockaddr_in: {
    cType: "struct sockaddr_in",
    size: 16,
    fields: { sin_family: 0, sin_port: 2, sin_addr: 4 },
  },
  sockaddr_in6: {
    cType: "struct sockaddr_in6",
    size: 28,
    fields: { sin6_family: 0, sin6_port: 2, sin6_flowinfo: 4, sin6_addr: 8, sin6_scope_id: 24 },
  },
  pollfd: { cType: "struct pollfd", size: 8, fields: { fd: 0, events: 4, revents: 6 } },
  ffi_type: {
    cType: "ffi_type",
    size: 24,
    fields: { size: 0, alignment: 8, type: 10, elements: 16 },
  },
  ffi_cif: { cType: "ffi_cif", size: 32, fields: { abi: 0, nargs: 4, arg_types: 8, rtype: 16 } },
} as const satisfies Record<string, StructLayout>;

/** Enum values and macros used by the FFI layer, keyed by their C names. */
export const CONSTANTS = {
  IBV_WR_RDMA_WRITE: 0,
  IBV_WR_RDMA_READ: 4,
  IBV_SEND_SIGNALED: 2,
  IBV_ACCESS_LOCAL_WRITE: 1,
  IBV_ACCESS_REMOTE_WRITE: 2,
  IBV_ACCESS_REMOTE_READ: 4,
  IBV_QPT_RC: 2,
  IBV_WC_SUCCESS: 0,
  IBV_WC_WR_FLUSH_ERR: 5,
  IBV_WC_REM_ACCESS_ERR: 10,
  IBV_WC_RDMA_WRITE: 1,
  IBV_WC_RDMA_READ: 2,
  RDMA_PS_TCP: 0x0106,
  RDMA_CM_EVENT_ADDR_RESOLVED: 0,
  RDMA_CM_EVENT_ADDR_ERROR: 1,
  RDMA_CM_EVENT_ROUTE_RESOLVED: 2,
  RDMA_CM_EVENT_ROUTE_ERROR: 3,
  RDMA_CM_EVENT_CONNECT_REQUEST: 4,
  RDMA_CM_EVENT_CONNECT_RESPONSE: 5,
  RDMA_CM_EVENT_CONNECT_ERROR: 6,
  RDMA_CM_EVENT_UNREACHABLE: 7,
  RDMA_CM_EVENT_REJECTED: 8,
  RDMA_CM_EVENT_ESTABLISHED: 9,
  RDMA_CM_EVENT_DISCONNECTED: 10,
  RDMA_CM_EVENT_DEVICE_REMOVAL: 11,
  RDMA_CM_EVENT_ADDR_CHANGE: 14,
  RDMA_CM_EVENT_TIMEWAIT_EXIT: 15,
  AF_INET: 2,
  AF_INET6: 10,
  POLLIN: 1,
  EAGAIN: 11,
  ENOSYS: 38,
  FFI_DEFAULT_ABI: 2,
  FFI_TYPE_VOID: 0,
  FFI_TYPE_SINT32: 10,
  FFI_TYPE_UINT64: 11,
  FFI_TYPE_POINTER: 14,
} as const satisfies Record<string, number>;

/** C headers that declare everything in {@link LAYOUTS} and {@link CONSTANTS}. */
export const LAYOUT_HEADERS: readonly string[] = [
  "infiniband/verbs.h",
  "rdma/rdma_cma.h",
  "netinet/in.h",
  "poll.h",
  "errno.h",
  "ffi.h",
];
