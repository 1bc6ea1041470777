// Command sdform plans and applies GPU image pipelines declared in
// .sdf.hcl files: images built with BuildKit, weight files, and the tests
// that accept them. Run `sdform -h` for the commands.
//
// The package is the command-line interface only: one file per subcommand,
// each parsing its flags (github.com/spf13/pflag) into a plain struct and
// calling lang, planner and internal/view.
//
// Flags follow Terraform: -flag=value with one dash. pflag wants two
// dashes for long flags, so argv is normalised first (normalizeArgs):
// "-out=x" and "--out=x" are the same; "-h" stays the short help flag.
//
// Exit codes:
//
//	0  success (plan -detailed-exitcode: success, no changes)
//	1  error
//	2  plan -detailed-exitcode: success, changes present
//	3  fmt -check: some files are not formatted (as terraform fmt -check)
//	130 a second Ctrl-C stopped sdform at once
package main
