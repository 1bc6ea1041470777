package plan

import (
	"time"

	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

// FormatVersion is the version of the saved-plan and `plan -json` formats.
// Bump the minor number for additions, the major for anything else.
const FormatVersion = "1.1"

// Action is what will happen to one object: the providers' Action plus the
// engine-only ones.
type Action = providers.Action

const (
	NoOp    = providers.NoOp
	Create  = providers.Create
	Update  = providers.Update
	Replace = providers.Replace
	Delete  = providers.Delete
	Read    = providers.Read
	// Forget drops an object removed from config from state, leaving the
	// real object alone (the default for removed resources).
	Forget Action = '/'
)

// Plan is the outcome of `sdform plan`.
type Plan struct {
	FormatVersion string
	SdformVersion string
	CreatedAt     time.Time

	// Lineage and Serial identify the state the plan was made against; a
	// saved plan is stale once the state's serial moved.
	Lineage string
	Serial  uint64
	// InputsDigest digests the config files, variable values and files read
	// by file functions; a saved plan is stale when it differs at apply.
	InputsDigest string

	// Options the plan was made with, re-used by `apply PLANFILE`.
	Options Options

	// Variables holds non-sensitive variable values, for apply PLANFILE.
	// Sensitive ones must be given again; their hashes are in InputsDigest.
	Variables map[string]cty.Value

	Changes []*Change
	// Drift lists objects that changed outside sdform, found by refresh.
	Drift   []*Drift
	Checks  []*CheckResult
	Outputs []*Output
}

// Options are the plan flags that shape what is planned.
type Options struct {
	Destroy     bool
	Refresh     bool
	Targets     []string
	Excludes    []string
	Replace     []string
	Parallelism int
}

// Change is the planned action for one resource or data source.
type Change struct {
	Address  string
	Mode     string // "managed" or "data"
	Type     string
	Name     string
	Provider string
	Action   Action
	// Reason says why, in words: "build arg STEADYDANCER_VARIANT changed",
	// "image deleted outside sdform", "removed from config (forgotten; set
	// destroy_removed to delete)".
	Reason string
	// ReplacePaths are the attribute paths that force a replace.
	ReplacePaths []cty.Path
	// Before is the prior (refreshed) value, null on create; After is the
	// planned value with unknowns, null on delete and forget.
	Before cty.Value
	After  cty.Value
	// Details are the provider's extra lines (cache prediction, download size).
	Details []string
	// Verb and Test come from the type's schema, for headings and the summary.
	Verb string
	Test bool
	// SensitivePaths are the paths in Before/After that print as
	// "(sensitive value)".
	SensitivePaths []cty.Path
	// Fingerprint is the provider's digest of inputs outside the config.
	Fingerprint string
	// Private is the provider's planned private data.
	Private []byte
	// Dependencies are the addresses this object depends on.
	Dependencies []string
}

// Drift is one object that changed outside sdform.
type Drift struct {
	Address string
	Reason  string
	Before  cty.Value
	After   cty.Value // null when the object is gone
	// SensitivePaths are the paths in Before/After that print as
	// "(sensitive value)": their leaves hold redacted strings.
	SensitivePaths []cty.Path
}

// CheckStatus is the state of a check or assertion.
type CheckStatus string

const (
	CheckPass    CheckStatus = "pass"
	CheckFail    CheckStatus = "fail"
	CheckUnknown CheckStatus = "unknown" // depends on values known after apply
)

// CheckResult is a check block evaluated at plan time.
type CheckResult struct {
	Address  string // "check.size"
	Status   CheckStatus
	Messages []string // error messages of failed asserts
	Warning  bool     // every failed assert has severity "warning"
}

// Output is an output value after the plan.
type Output struct {
	Name      string
	Before    cty.Value
	After     cty.Value
	Sensitive bool
}
