/**
 * Hex encoding of bytes (moved to common/hex.ts; re-exported for the controller).
 * @module
 */
export { encodeHex } from "../../common/hex.ts";
