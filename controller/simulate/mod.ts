/**
 * The deterministic simulator: a playbook's real loop against simulated hosts, agents and apps
 * in virtual time.
 * @module
 */
export { type SimulateOptions, simulatePlaybook, type SimulationResult } from "./simulate.ts";
export { SIM_RUNTIME, type SimHost, SimWorld, type SimWorldOptions } from "./sim_world.ts";
export type { SimFault } from "./faults.ts";
export {
  appSpecs,
  commandAppSpec,
  modelAppSpec,
  modelsFromScenario,
  type SimAppSpec,
  type SimPhase,
  workloadAppSpec,
} from "./app_models.ts";
export { VirtualClock } from "./virtual_clock.ts";
