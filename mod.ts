/**
 * spirit: fair sharing of local memory (cache) and remote-memory bandwidth among
 * applications on remote-memory clusters, with a CEEI market.
 *
 * This module re-exports the public API; each piece lives in its own file.
 * @module
 */

export {
  BYTES_PER_MIB,
  BYTES_PER_SEC_PER_MBPS,
  formatBytes,
  formatRate,
  parseDurationMs,
  parseRateBytesPerSec,
  parseSizeBytes,
} from "./common/units.ts";

export type {
  AppLimits,
  Bundle,
  MarketApp,
  NodeAllocation,
  NodeMarket,
  Policy,
  PolicyOptions,
  Prices,
} from "./controller/auction/market.ts";
export { isUnknown } from "./controller/auction/market.ts";
export {
  buildModel,
  type ConstantModelSpec,
  type GridModelSpec,
  type ModelSpec,
  type MrcModelSpec,
  type PerformanceModel,
  type UnknownModelSpec,
} from "./controller/auction/model.ts";
export { symbiosis } from "./controller/auction/symbiosis.ts";
export { equalSplit } from "./controller/auction/equal_split.ts";
export {
  allocateNodes,
  isPolicyName,
  POLICIES,
  POLICY_NAMES,
  type PolicyName,
} from "./controller/auction/policy.ts";
export {
  endowmentLosses,
  envyPairs,
  fairnessReport,
  geometricMean,
  jainIndex,
  paretoGaps,
  sharingIncentiveViolations,
  utilisation,
} from "./controller/auction/fairness.ts";
export {
  parseScenario,
  type Scenario,
  ScenarioError,
  validateScenario,
} from "./controller/auction/scenario.ts";
export { type AllocationRun, runEpochs } from "./controller/auction/epochs.ts";
export * from "./controller/estimator/mod.ts";

export * from "./controller/playbook/mod.ts";
export { type RunOptions, runPlaybook, type RunResult } from "./controller/run/run.ts";
export {
  type SimFault,
  type SimulateOptions,
  simulatePlaybook,
  type SimulationResult,
} from "./controller/simulate/mod.ts";
export { listRdmaDevices, type RdmaAvailability } from "./ffi/ibverbs.ts";
export type {
  AgentEvent,
  AgentRequest,
  AgentResponse,
  Allocation,
  AppSample,
  HostFacts,
  LaunchSpec,
  RemoteSwapSupportFacts,
  ThroughputSource,
} from "./agent/protocol.ts";
export { AGENT_PROTOCOL_VERSION } from "./agent/protocol.ts";

// A playbook file run as the main module (`deno run -A playbooks/x.ts`) runs through this.
import { installPlaybookRunner } from "./controller/run/command.ts";
installPlaybookRunner();
