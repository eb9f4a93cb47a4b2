/**
 * A host's facts, printed as one JSON document: the small program `spirit check` feeds to the
 * deployed Deno on stdin (`deno run -A -`), bundled on its own so that checking a host costs a
 * third of running the whole host bundle's `spirit agent facts` (which prints the same).
 * @module
 */
import { gatherFacts } from "../agent/facts.ts";

if (import.meta.main) console.log(JSON.stringify(await gatherFacts()));
