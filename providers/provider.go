package providers

import (
	"context"
	"io"

	"github.com/zclconf/go-cty/cty"
)

// Provider is implemented by every provider. Calls are ctx-first
// request/response pairs with diagnostics inside the response, so the
// contract can grow without breaking implementations. The engine may call
// ValidateResource, ReadResource, ReadData, PlanResource and ApplyResource
// concurrently for different resources once Configure has returned.
type Provider interface {
	// Schema returns the provider's types. It does no I/O and may be called
	// before Configure.
	Schema() ProviderSchema
	// Configure receives the provider block's decoded value (a null-free
	// object of Schema().Provider's type; empty when no block was written)
	// and the environment of this run. Connections that plan can do without
	// should open lazily, so that plan works on a machine without a daemon.
	Configure(ctx context.Context, req ConfigureRequest) ConfigureResponse
	// ValidateResource checks a config value offline (no network). Config
	// may contain unknowns.
	ValidateResource(ctx context.Context, req ValidateRequest) ValidateResponse
	// ReadResource refreshes a managed resource from the real world. A
	// NewState that is null means the object is gone.
	ReadResource(ctx context.Context, req ReadRequest) ReadResponse
	// ReadData reads a data source.
	ReadData(ctx context.Context, req ReadDataRequest) ReadDataResponse
	// PlanResource proposes the new value for a managed resource and says
	// why it differs from the prior one.
	PlanResource(ctx context.Context, req PlanRequest) PlanResponse
	// ApplyResource carries out a planned action.
	ApplyResource(ctx context.Context, req ApplyRequest) ApplyResponse
	// Close releases everything Configure opened. Always called once.
	Close() error
}

// Promoter is implemented by providers whose resources become visible only
// after their tests pass (docker_image: tags move to a new build only then).
// After apply, the engine calls Promote for every object created, replaced
// or updated in this run, with Passed=true when its Test dependents (and
// checks) all passed; when one failed it calls Promote with Passed=false so
// the provider can say what it kept. An update may be nothing but a pending
// promotion: a provider plans one when an earlier run's tests failed.
type Promoter interface {
	Promote(ctx context.Context, req PromoteRequest) PromoteResponse
}

// Factory builds an unconfigured provider. It does no I/O.
type Factory func() Provider

// Env is what a provider may know about the run.
type Env struct {
	// ConfigDir is the directory of the .sdf.hcl files; relative paths in
	// config resolve against it.
	ConfigDir string
	// DataDir is sdform's working directory (".sdform" in ConfigDir):
	// outputs, caches and partial downloads live under it.
	DataDir string
	// UI is where progress goes.
	UI UI
}

// UI is how a provider shows long-running work. The engine gives each call a
// UI whose writers prefix lines with the resource address.
type UI struct {
	// Out receives progress lines. Never nil (io.Discard when quiet).
	Out io.Writer
	// Terminal is true when Out is a terminal: bars and redraws are fine.
	Terminal bool
	// JSON is true under -json: Out then receives one JSON object per line
	// ({"@level","@message","type":"progress",...}); providers that have a
	// machine format of their own (BuildKit's rawjson) may use it.
	JSON bool
	// Color is false under -no-color / NO_COLOR.
	Color bool
	// Scrub replaces the run's sensitive values in text. The engine does
	// it for what reaches Out as written; a provider that shows text by
	// another way (a terminal display of its own, encoded logs) passes
	// that text through Scrub first. Nil means nothing to hide.
	Scrub func(string) string
}

// ConfigureRequest carries the provider block and the run's environment.
type ConfigureRequest struct {
	Config cty.Value
	Env    Env
}

// ConfigureResponse reports problems with the provider block.
type ConfigureResponse struct {
	Diagnostics Diagnostics
}

// ValidateRequest asks for offline checks of one resource or data source.
type ValidateRequest struct {
	TypeName string
	// Address names the object ("comfyui_model.vae"), for checks across
	// objects of one configuration and for messages.
	Address string
	Config  cty.Value
	// SensitivePaths are the paths of Config whose values are sensitive
	// (from a sensitive variable, or sensitive in the schema).
	SensitivePaths []cty.Path
}

// ValidateResponse carries what the checks found.
type ValidateResponse struct {
	Diagnostics Diagnostics
}

// ReadRequest refreshes one managed resource.
type ReadRequest struct {
	TypeName string
	Address  string // "docker_image.comfyui", for messages
	// Prior is the value recorded in state (sensitive values replaced by
	// their hashes, see the state package); Private is the provider's own
	// data recorded with it.
	Prior   cty.Value
	Private []byte
}

// ReadResponse returns what exists now.
type ReadResponse struct {
	// NewState is the object as it is now; null when it no longer exists.
	NewState cty.Value
	Private  []byte
	// Drift, when not empty, explains a difference found outside sdform
	// ("image deleted outside sdform", "tag moved to sha256:…"). The plan
	// shows it under "Objects have changed outside of sdform".
	Drift       string
	Diagnostics Diagnostics
}

// ReadDataRequest reads one data source. Config may not contain unknowns
// (the engine defers reads whose config is not yet known to apply).
type ReadDataRequest struct {
	TypeName string
	Address  string
	Config   cty.Value
}

// ReadDataResponse returns the data source's value.
type ReadDataResponse struct {
	State       cty.Value
	Diagnostics Diagnostics
}

// PlanRequest asks what applying Config would do.
type PlanRequest struct {
	TypeName string
	Address  string
	// Prior is the refreshed state value; null when the object does not
	// exist (create).
	Prior        cty.Value
	PriorPrivate []byte
	// Config is the decoded configuration; it may contain unknowns.
	Config cty.Value
	// Proposed is Config with computed attributes taken from Prior where
	// the config leaves them null: the default answer for "no change".
	Proposed cty.Value
}

// PlanResponse is the provider's proposal. The engine decides the action:
// Planned equal to Prior is a no-op, a difference in a ForceNew attribute (or
// any path in RequiresReplace) is a replace, any other difference an update.
type PlanResponse struct {
	// Planned is the value after apply, with unknowns where only apply
	// can tell (cty.UnknownVal for a new digest).
	Planned cty.Value
	// RequiresReplace lists paths, beyond ForceNew attributes, whose change
	// forces replacement (a Dockerfile step that changed forces a rebuild).
	RequiresReplace []cty.Path
	// Reason overrides the engine's reason when the provider knows better:
	// "Dockerfile changed at line 42", "file on disk changed size".
	Reason string
	// Details are extra lines shown under the change in the plan:
	// "steps: 14 cached, 6 to run (first change: Dockerfile:42 RUN …)",
	// "will be downloaded: 14.2 GB".
	Details []string
	// Fingerprint digests every input outside the config that this plan
	// relied on (build context, workflow file, remote ETag). A saved plan is
	// stale when re-planning gives another fingerprint.
	Fingerprint string
	// PlannedPrivate travels with the saved plan into ApplyRequest.
	PlannedPrivate []byte
	// Plain says that this change does not do what the type's Schema.Verb
	// says (a weight file already on disk with the wanted sha256 is only
	// recorded: nothing is downloaded). It is then worded and counted as
	// a plain change: "will be updated in place", "1 to update".
	Plain       bool
	Diagnostics Diagnostics
}

// Action is what the engine decided for one object.
type Action rune

const (
	NoOp    Action = '='
	Create  Action = '+'
	Update  Action = '~'
	Replace Action = '±'
	Delete  Action = '-'
	Read    Action = '<'
)

func (a Action) String() string {
	switch a {
	case NoOp:
		return "no-op"
	case Create:
		return "create"
	case Update:
		return "update"
	case Replace:
		return "replace"
	case Delete:
		return "delete"
	case Read:
		return "read"
	}
	return "unknown"
}

// ApplyRequest carries out one planned action. For Delete, Planned is null.
type ApplyRequest struct {
	TypeName string
	Address  string
	Action   Action
	Prior    cty.Value
	// Planned is the plan's value re-evaluated now that the values it
	// depends on are known; Config likewise.
	Planned        cty.Value
	Config         cty.Value
	PlannedPrivate []byte
	UI             UI
}

// ApplyResponse returns the new object. On failure NewState should still
// describe what exists (the prior value when nothing changed), so the
// engine records no half-done object.
type ApplyResponse struct {
	NewState    cty.Value
	Private     []byte
	Diagnostics Diagnostics
}

// PromoteRequest tells a Promoter whether the tests of an object passed.
type PromoteRequest struct {
	TypeName string
	Address  string
	State    cty.Value
	Private  []byte
	Passed   bool
	// Failed names the tests or checks that failed when Passed is false.
	Failed []string
	UI     UI
}

// PromoteResponse returns the object after promotion.
type PromoteResponse struct {
	NewState    cty.Value
	Private     []byte
	Diagnostics Diagnostics
}

// Rollbacker is implemented by providers that can put an object back to what
// it was before the last apply (docker_image: move its tags back to the
// digests they pointed to before, and push them when the image is pushed).
// `sdform rollback ADDR` calls it; the engine records the returned state.
type Rollbacker interface {
	Rollback(ctx context.Context, req RollbackRequest) RollbackResponse
}

// RollbackRequest asks to restore the previous version of one object.
type RollbackRequest struct {
	TypeName string
	Address  string
	State    cty.Value
	Private  []byte
	// Config is the object's configuration as it stands, evaluated over
	// the recorded values of what it refers to; null when the
	// configuration no longer declares the object. A provider rolls back
	// only what it still asks for.
	Config cty.Value
	UI     UI
}

// RollbackResponse returns the object after rollback. Messages are shown to
// the user as they are ("tag runpod/x:fp8: sha256:new… -> sha256:old…").
type RollbackResponse struct {
	NewState    cty.Value
	Private     []byte
	Messages    []string
	Diagnostics Diagnostics
}
