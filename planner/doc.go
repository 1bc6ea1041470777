// Package planner is sdform's engine: it builds the dependency graph of a
// configuration, plans (refresh, evaluate, ask each provider what would
// change, decide the action and its reason) and applies a plan by walking
// the graph in parallel, persisting the state after every object.
//
// The engine, not the provider, decides each action (CONVENTIONS.md: a plan
// is inert data, apply executes it without re-deciding). A provider proposes
// a planned value; the engine compares it with the prior one on their
// redacted forms (see Redact) and calls it a no-op, an update, or a replace
// when a ForceNew attribute or a RequiresReplace path changed.
//
// Sensitive values (from sensitive variables or schema attributes) travel
// as cty values marked lang.SensitiveMark. Providers receive them unmarked;
// plans and the state hold them only redacted, as "sha256:" HMACs keyed with
// the state's lineage, so equal secrets compare equal without being stored.
//
// Saved plans are checked before apply: the state's lineage and serial, a
// digest of the configuration files, variable values and files read by
// file functions, and every changing object's provider fingerprint must be
// what they were at plan time, or Apply refuses with "saved plan is stale".
package planner
