/**
 * The RDMA CM private data of the passive one-sided memory-server contract (SPIRIT.md section
 * 2): a packed little-endian record `{u64 addr, u32 rkey, u64 size}` (20 bytes). The client
 * sends `{0, 0, size}`; the server accepts with `{addr, rkey, 0}`. Pure code.
 * @module
 */

/** Bytes of the packed record. */
export const REGION_RECORD_BYTES = 20;

/** Granularity of server regions: requests are rounded up to whole 2 MiB huge pages. */
export const RDMA_REGION_ALIGN_BYTES = 2 * 1024 * 1024;

/** The packed record. */
export interface RegionRecord {
  readonly addr: bigint;
  readonly rkey: number;
  readonly sizeBytes: bigint;
}

/** Encodes a record (20 bytes, little-endian, packed). */
export function encodeRegionRecord(record: RegionRecord): Uint8Array {
  const bytes = new Uint8Array(REGION_RECORD_BYTES);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, record.addr, true);
  view.setUint32(8, record.rkey, true);
  view.setBigUint64(12, record.sizeBytes, true);
  return bytes;
}

/**
 * Decodes a record from CM private data. The transport pads private data (to 56 bytes on
 * InfiniBand), so anything after the first 20 bytes is ignored. Throws RangeError when short.
 */
export function decodeRegionRecord(privateData: Uint8Array): RegionRecord {
  if (privateData.length < REGION_RECORD_BYTES) {
    throw new RangeError(
      `RDMA private data has ${privateData.length} bytes; the region record needs ` +
        `${REGION_RECORD_BYTES} ({u64 addr, u32 rkey, u64 size})`,
    );
  }
  const view = new DataView(privateData.buffer, privateData.byteOffset, REGION_RECORD_BYTES);
  return {
    addr: view.getBigUint64(0, true),
    rkey: view.getUint32(8, true),
    sizeBytes: view.getBigUint64(12, true),
  };
}

/** Rounds a requested size up to whole {@link RDMA_REGION_ALIGN_BYTES}. */
export function roundRegionBytes(sizeBytes: number): number {
  return Math.ceil(sizeBytes / RDMA_REGION_ALIGN_BYTES) * RDMA_REGION_ALIGN_BYTES;
}
