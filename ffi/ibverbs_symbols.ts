/**
 * Symbol table of libibverbs: the exported entry points spirit uses. The inline verbs
 * (ibv_post_send, ibv_post_recv, ibv_poll_cq, ibv_req_notify_cq) are not exported; they are
 * called through the context's ops table (see `verbs_ops.ts`).
 * @module
 */

/** libibverbs symbols with their C signatures. */
export const IBVERBS_SYMBOLS = {
  ibv_get_device_list: {
    parameters: [
      "buffer", // int *num_devices
    ],
    result: "pointer", // struct ibv_device **
  },
  ibv_free_device_list: {
    parameters: [
      "pointer", // struct ibv_device **list
    ],
    result: "void",
  },
  ibv_get_device_name: {
    parameters: [
      "pointer", // struct ibv_device *device
    ],
    result: "pointer", // const char *
  },
  ibv_open_device: {
    parameters: [
      "pointer", // struct ibv_device *device
    ],
    result: "pointer", // struct ibv_context *
  },
  ibv_close_device: {
    parameters: [
      "pointer", // struct ibv_context *context
    ],
    result: "i32", // int
  },
  ibv_query_device: {
    parameters: [
      "pointer", // struct ibv_context *context
      "buffer", // struct ibv_device_attr *device_attr
    ],
    result: "i32", // int
  },
  ibv_alloc_pd: {
    parameters: [
      "pointer", // struct ibv_context *context
    ],
    result: "pointer", // struct ibv_pd *
  },
  ibv_dealloc_pd: {
    parameters: [
      "pointer", // struct ibv_pd *pd
    ],
    result: "i32", // int
  },
  ibv_reg_mr: {
    parameters: [
      "pointer", // struct ibv_pd *pd
      "pointer", // void *addr
      "usize", // size_t length
      "i32", // int access
    ],
    result: "pointer", // struct ibv_mr *
  },
  ibv_dereg_mr: {
    parameters: [
      "pointer", // struct ibv_mr *mr
    ],
    result: "i32", // int
  },
  ibv_create_comp_channel: {
    parameters: [
      "pointer", // struct ibv_context *context
    ],
    result: "pointer", // struct ibv_comp_channel *
  },
  ibv_destroy_comp_channel: {
    parameters: [
      "pointer", // struct ibv_comp_channel *channel
    ],
    result: "i32", // int
  },
  ibv_create_cq: {
    parameters: [
      "pointer", // struct ibv_context *context
      "i32", // int cqe
      "pointer", // void *cq_context
      "pointer", // struct ibv_comp_channel *channel
      "i32", // int comp_vector
    ],
    result: "pointer", // struct ibv_cq *
  },
  ibv_destroy_cq: {
    parameters: [
      "pointer", // struct ibv_cq *cq
    ],
    result: "i32", // int
  },
  ibv_get_cq_event: {
    parameters: [
      "pointer", // struct ibv_comp_channel *channel
      "buffer", // struct ibv_cq **cq
      "buffer", // void **cq_context
    ],
    result: "i32", // int
  },
  ibv_ack_cq_events: {
    parameters: [
      "pointer", // struct ibv_cq *cq
      "u32", // unsigned int nevents
    ],
    result: "void",
  },
  ibv_wc_status_str: {
    parameters: [
      "i32", // enum ibv_wc_status status
    ],
    result: "pointer", // const char *
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** Candidate paths of libibverbs (Debian libibverbs1 first). Override: SPIRIT_LIBIBVERBS. */
export const IBVERBS_PATHS: readonly string[] = [
  "libibverbs.so.1",
  "/usr/lib/x86_64-linux-gnu/libibverbs.so.1",
  "/usr/lib/aarch64-linux-gnu/libibverbs.so.1",
  "/usr/lib64/libibverbs.so.1",
];
