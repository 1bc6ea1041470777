// Package view renders what the engine decided, for people and for
// programs: plans (human text and the `-json` document), diagnostics with
// source snippets, apply progress and results, and state. It never decides
// anything: the action of every change, its reason and the summary counts
// come from the plan. What it does work out is presentation only — which
// attributes of a change to show, how to print a value.
//
// Human output follows Terraform's shape so that its users read it without
// a manual; colours are ANSI codes, written only when Options.Color is set
// (the CLI clears it under -no-color, NO_COLOR or a non-terminal).
//
// Free text — messages, reasons, errors, ids, diagnostics, provider
// output — comes from configurations, servers and builds, so the human
// views pass it through Sanitize before it reaches a terminal, as values
// are escaped in HCL syntax; the -json documents carry it as written.
package view
