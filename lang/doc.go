// Package lang is sdform's configuration language: it loads the *.sdf.hcl
// files of one directory into a Config, gathers input variable values,
// builds the evaluation scope and function table, finds the references that
// make the dependency graph, and formats files.
//
// lang knows nothing about providers or the planner. Resource bodies are
// decoded in two stages, as HCL's guide recommends: Load takes the
// meta-arguments (depends_on, lifecycle) out with PartialContent and keeps
// the rest of the body undecoded; the planner decodes it later against the
// provider's schema.
//
// Everything the user wrote is reported as hcl.Diagnostics with a source
// range, so the CLI prints them with snippets; nothing a user writes makes
// this package panic (FuzzLoad checks that).
//
// Variable values come from, highest precedence first:
//
//  1. -var NAME=VALUE on the command line (the last one wins)
//  2. -var-file FILE (the last file wins)
//  3. *.auto.sdfvars files in the configuration directory (lexical order,
//     the last wins)
//  4. SDF_VAR_NAME environment variables
//  5. the variable's default
//
// A variable with none of these is an error, never a prompt.
package lang
