// Package plan holds a plan as inert data: what the planner decided and why.
// Apply executes it without re-deciding; view renders it without computing
// any diff. A plan saved with -out is this structure serialised (see
// Marshal), with every value typed so that it reads back exactly.
package plan
