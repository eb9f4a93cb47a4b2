/**
 * Symbol table of librdmacm: the RDMA connection manager entry points spirit uses.
 * @module
 */

/** librdmacm symbols with their C signatures. */
export const RDMACM_SYMBOLS = {
  rdma_create_event_channel: {
    parameters: [],
    result: "pointer", // struct rdma_event_channel *
  },
  rdma_destroy_event_channel: {
    parameters: [
      "pointer", // struct rdma_event_channel *channel
    ],
    result: "void",
  },
  rdma_create_id: {
    parameters: [
      "pointer", // struct rdma_event_channel *channel
      "buffer", // struct rdma_cm_id **id
      "pointer", // void *context
      "i32", // enum rdma_port_space ps
    ],
    result: "i32", // int
  },
  rdma_destroy_id: {
    parameters: [
      "pointer", // struct rdma_cm_id *id
    ],
    result: "i32", // int
  },
  rdma_bind_addr: {
    parameters: [
      "pointer", // struct rdma_cm_id *id
      "buffer", // struct sockaddr *addr
    ],
    result: "i32", // int
  },
  rdma_listen: {
    parameters: [
      "pointer", // struct rdma_cm_id *id
      "i32", // int backlog
    ],
    result: "i32", // int
  },
  rdma_get_src_port: {
    parameters: [
      "pointer", // struct rdma_cm_id *id
    ],
    result: "u16", // __be16
  },
  rdma_resolve_addr: {
    parameters: [
      "pointer", // struct rdma_cm_id *id
      "buffer", // struct sockaddr *src_addr (may be NULL)
      "buffer", // struct sockaddr *dst_addr
      "i32", // int timeout_ms
    ],
    result: "i32", // int
  },
  rdma_resolve_route: {
    parameters: [
      "pointer", // struct rdma_cm_id *id
      "i32", // int timeout_ms
    ],
    result: "i32", // int
  },
  rdma_create_qp: {
    parameters: [
      "pointer", // struct rdma_cm_id *id
      "pointer", // struct ibv_pd *pd
      "buffer", // struct ibv_qp_init_attr *qp_init_attr
    ],
    result: "i32", // int
  },
  rdma_destroy_qp: {
    parameters: [
      "pointer", // struct rdma_cm_id *id
    ],
    result: "void",
  },
  rdma_connect: {
    parameters: [
      "pointer", // struct rdma_cm_id *id
      "buffer", // struct rdma_conn_param *conn_param
    ],
    result: "i32", // int
  },
  rdma_accept: {
    parameters: [
      "pointer", // struct rdma_cm_id *id
      "buffer", // struct rdma_conn_param *conn_param
    ],
    result: "i32", // int
  },
  rdma_reject: {
    parameters: [
      "pointer", // struct rdma_cm_id *id
      "buffer", // const void *private_data (may be NULL)
      "u8", // uint8_t private_data_len
    ],
    result: "i32", // int
  },
  rdma_disconnect: {
    parameters: [
      "pointer", // struct rdma_cm_id *id
    ],
    result: "i32", // int
  },
  rdma_get_cm_event: {
    parameters: [
      "pointer", // struct rdma_event_channel *channel
      "buffer", // struct rdma_cm_event **event
    ],
    result: "i32", // int
  },
  rdma_ack_cm_event: {
    parameters: [
      "pointer", // struct rdma_cm_event *event
    ],
    result: "i32", // int
  },
  rdma_event_str: {
    parameters: [
      "i32", // enum rdma_cm_event_type event
    ],
    result: "pointer", // const char *
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** Candidate paths of librdmacm (Debian librdmacm1 first). Override: SPIRIT_LIBRDMACM. */
export const RDMACM_PATHS: readonly string[] = [
  "librdmacm.so.1",
  "/usr/lib/x86_64-linux-gnu/librdmacm.so.1",
  "/usr/lib/aarch64-linux-gnu/librdmacm.so.1",
  "/usr/lib64/librdmacm.so.1",
];
