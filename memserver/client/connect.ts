/**
 * Opens a RemoteTransport of the requested kind. `auto` means RDMA when the memory node offers
 * it (probeRdmaServer), else TCP. The endpoint's token authenticates either way: in TCP's HELLO,
 * or as a proof in the RDMA connect record.
 * @module
 */
import { connectRdma, probeRdmaServer } from "./rdma_transport.ts";
import { connectTcp } from "./tcp_transport.ts";
import type { RemoteTransport, TransportEndpoint } from "./transport.ts";

/** Transport kinds a client may ask for. */
export type TransportKind = "tcp" | "rdma" | "auto";

/** Connects and authenticates to a memory server. */
export async function connectTransport(
  endpoint: TransportEndpoint,
  options: { kind?: TransportKind } = {},
): Promise<RemoteTransport> {
  const kind = options.kind ?? "auto";
  switch (kind) {
    case "tcp":
      return await connectTcp(endpoint);
    case "rdma":
      return await connectRdma(endpoint);
    case "auto":
      if ((await probeRdmaServer(endpoint)).offered) {
        return await connectRdma(endpoint);
      }
      return await connectTcp(endpoint);
  }
}
