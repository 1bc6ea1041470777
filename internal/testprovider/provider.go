package testprovider

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

var (
	_ providers.Provider = (*Provider)(nil)
	_ providers.Promoter = (*Provider)(nil)
)

// Name is the provider name, the prefix of its types.
const Name = "test"

// Event is one call the provider received.
type Event struct {
	Op      string // configure, validate, read, readdata, plan, apply, promote, close
	Address string
	Action  providers.Action
	Start   time.Time
	End     time.Time
	// Passed and Failed are the PromoteRequest's, for promote events.
	Passed bool
	Failed []string
	Err    string
}

// Provider is the test provider. One value may be shared between several
// engine contexts by a test's factory, so that the test can read Events.
type Provider struct {
	mu         sync.Mutex
	env        providers.Env
	label      string
	configured int
	closed     int
	events     []Event
}

// New returns an unconfigured test provider.
func New() providers.Provider { return &Provider{} }

// Events returns a copy of the calls received so far, in the order they
// finished.
func (p *Provider) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Event(nil), p.events...)
}

// EventsOf returns the events of one operation, in the order they finished.
func (p *Provider) EventsOf(op string) []Event {
	var out []Event
	for _, e := range p.Events() {
		if e.Op == op {
			out = append(out, e)
		}
	}
	return out
}

// Configured reports how many times Configure was called; Closed likewise.
func (p *Provider) Configured() int { p.mu.Lock(); defer p.mu.Unlock(); return p.configured }

// Closed reports how many times Close was called.
func (p *Provider) Closed() int { p.mu.Lock(); defer p.mu.Unlock(); return p.closed }

// Label is the label given in the provider block.
func (p *Provider) Label() string { p.mu.Lock(); defer p.mu.Unlock(); return p.label }

func (p *Provider) record(e Event) {
	if e.End.IsZero() {
		e.End = time.Now()
	}
	p.mu.Lock()
	p.events = append(p.events, e)
	p.mu.Unlock()
}

// Schema implements providers.Provider.
func (p *Provider) Schema() providers.ProviderSchema {
	return providers.ProviderSchema{
		Provider: &providers.Schema{
			Attributes: map[string]*providers.Attribute{
				"label": {Type: cty.String, Optional: true, Description: "a label the test can read back"},
			},
		},
		Resources: map[string]*providers.Schema{
			"test_thing": thingSchema(),
			"test_test":  testSchema(),
		},
		DataSources: map[string]*providers.Schema{
			"test_data": dataSchema(),
		},
	}
}

// Configure implements providers.Provider.
func (p *Provider) Configure(ctx context.Context, req providers.ConfigureRequest) providers.ConfigureResponse {
	start := time.Now()
	var resp providers.ConfigureResponse
	p.mu.Lock()
	p.env = req.Env
	p.configured++
	if req.Config.IsKnown() && !req.Config.IsNull() && req.Config.Type().IsObjectType() && req.Config.Type().HasAttribute("label") {
		if l := req.Config.GetAttr("label"); l.IsKnown() && !l.IsNull() {
			p.label = l.AsString()
		}
	}
	if p.label == "bad" {
		resp.Diagnostics = resp.Diagnostics.Errorf(cty.GetAttrPath("label"), "Bad label", "The label %q is refused by the test provider.", p.label)
	}
	p.mu.Unlock()
	p.record(Event{Op: "configure", Start: start})
	return resp
}

// ValidateResource implements providers.Provider.
func (p *Provider) ValidateResource(ctx context.Context, req providers.ValidateRequest) providers.ValidateResponse {
	start := time.Now()
	var resp providers.ValidateResponse
	if req.TypeName == "test_thing" {
		resp.Diagnostics = validateThing(req.Config)
	}
	p.record(Event{Op: "validate", Address: req.TypeName, Start: start})
	return resp
}

// ReadResource implements providers.Provider.
func (p *Provider) ReadResource(ctx context.Context, req providers.ReadRequest) providers.ReadResponse {
	start := time.Now()
	var resp providers.ReadResponse
	switch req.TypeName {
	case "test_thing":
		resp = p.readThing(req)
	default:
		resp = providers.ReadResponse{NewState: req.Prior, Private: req.Private}
	}
	p.record(Event{Op: "read", Address: req.Address, Start: start})
	return resp
}

// ReadData implements providers.Provider.
func (p *Provider) ReadData(ctx context.Context, req providers.ReadDataRequest) providers.ReadDataResponse {
	start := time.Now()
	var resp providers.ReadDataResponse
	switch req.TypeName {
	case "test_data":
		resp = readData(req)
	default:
		resp.Diagnostics = resp.Diagnostics.Errorf(nil, "Unknown data source", "The test provider has no data source %q.", req.TypeName)
	}
	p.record(Event{Op: "readdata", Address: req.Address, Start: start})
	return resp
}

// PlanResource implements providers.Provider.
func (p *Provider) PlanResource(ctx context.Context, req providers.PlanRequest) providers.PlanResponse {
	start := time.Now()
	var resp providers.PlanResponse
	switch req.TypeName {
	case "test_thing":
		resp = p.planThing(req)
	case "test_test":
		resp = planTest(req)
	default:
		resp.Diagnostics = resp.Diagnostics.Errorf(nil, "Unknown resource type", "The test provider has no resource type %q.", req.TypeName)
	}
	p.record(Event{Op: "plan", Address: req.Address, Start: start})
	return resp
}

// ApplyResource implements providers.Provider.
func (p *Provider) ApplyResource(ctx context.Context, req providers.ApplyRequest) providers.ApplyResponse {
	start := time.Now()
	var resp providers.ApplyResponse
	switch req.TypeName {
	case "test_thing":
		resp = p.applyThing(ctx, req)
	case "test_test":
		resp = applyTest(ctx, req)
	default:
		resp.Diagnostics = resp.Diagnostics.Errorf(nil, "Unknown resource type", "The test provider has no resource type %q.", req.TypeName)
	}
	e := Event{Op: "apply", Address: req.Address, Action: req.Action, Start: start}
	if resp.Diagnostics.HasErrors() {
		e.Err = resp.Diagnostics[0].Summary
	}
	p.record(e)
	return resp
}

// Promote implements providers.Promoter: a test_thing records whether its
// tests passed in its "promoted" attribute. Until a Promote passes, the
// object is pending (in the world and in its private data), and its plan is
// an update "not promoted yet", as a docker image whose tags were not moved
// plans one; so a test fixed later promotes the object it tests.
func (p *Provider) Promote(ctx context.Context, req providers.PromoteRequest) providers.PromoteResponse {
	start := time.Now()
	resp := providers.PromoteResponse{NewState: req.State, Private: req.Private}
	if req.TypeName == "test_thing" && req.State.IsKnown() && !req.State.IsNull() {
		resp.NewState = setAttr(req.State, "promoted", cty.BoolVal(req.Passed))
		resp.Private = withPending(req.Private, !req.Passed)
		if id := req.State.GetAttr("id"); id.IsKnown() && !id.IsNull() {
			if err := p.writeObject(id.AsString(), resp.NewState, !req.Passed); err != nil {
				resp.Diagnostics = resp.Diagnostics.FromError("Cannot record promotion", err)
			}
		}
	}
	p.record(Event{Op: "promote", Address: req.Address, Start: start, Passed: req.Passed, Failed: append([]string(nil), req.Failed...)})
	return resp
}

// Close implements providers.Provider.
func (p *Provider) Close() error {
	p.mu.Lock()
	p.closed++
	p.mu.Unlock()
	p.record(Event{Op: "close", Start: time.Now()})
	return nil
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sleepOf reads the "sleep" attribute of v.
func sleepOf(v cty.Value) (time.Duration, error) {
	s := str(v, "sleep")
	if s == "" {
		return 0, nil
	}
	return time.ParseDuration(s)
}

// str returns a known string attribute or "".
func str(v cty.Value, name string) string {
	if v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() || !v.Type().HasAttribute(name) {
		return ""
	}
	a := v.GetAttr(name)
	if a.IsNull() || !a.IsKnown() || a.Type() != cty.String {
		return ""
	}
	return a.AsString()
}

// flag returns a known bool attribute or false.
func flag(v cty.Value, name string) bool {
	if v.IsNull() || !v.IsKnown() || !v.Type().HasAttribute(name) {
		return false
	}
	a := v.GetAttr(name)
	return a.IsKnown() && !a.IsNull() && a.True()
}

// setAttr returns obj with one attribute replaced.
func setAttr(obj cty.Value, name string, v cty.Value) cty.Value {
	m := obj.AsValueMap()
	if m == nil {
		m = map[string]cty.Value{}
	}
	m[name] = v
	return cty.ObjectVal(m)
}

func newID(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

// WorldDir is where the objects of the provider live for a data directory.
func WorldDir(dataDir string) string { return filepath.Join(dataDir, "testworld") }

func (p *Provider) worldDir() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return WorldDir(p.env.DataDir)
}

func (p *Provider) writeObject(id string, v cty.Value, pending bool) error {
	return writeObject(p.worldDir(), id, v, pending)
}

// thingType is the type of every object in the world (only test_thing
// objects live there); files hold plain JSON values of it.
var thingType = thingSchema().ImpliedType()

func writeObject(dir, id string, v cty.Value, pending bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create world: %w", err)
	}
	b, err := encodeThing(v, pending)
	if err != nil {
		return fmt.Errorf("encode object %s: %w", id, err)
	}
	tmp := filepath.Join(dir, id+".json.tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write object %s: %w", id, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, id+".json")); err != nil {
		return fmt.Errorf("write object %s: %w", id, err)
	}
	return nil
}

// ReadObject returns an object of the world; ok is false when it does not
// exist.
func ReadObject(dataDir, id string) (v cty.Value, ok bool, err error) {
	v, _, ok, err = readObject(dataDir, id)
	return v, ok, err
}

// PromotionPending reports whether an object of the world was applied and
// not promoted since (its last Promote did not pass, or never ran).
func PromotionPending(dataDir, id string) (bool, error) {
	_, pending, ok, err := readObject(dataDir, id)
	if err == nil && !ok {
		err = fmt.Errorf("read object %s: no such object", id)
	}
	return pending, err
}

func readObject(dataDir, id string) (v cty.Value, pending, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(WorldDir(dataDir), id+".json"))
	if os.IsNotExist(err) {
		return cty.NilVal, false, false, nil
	}
	if err != nil {
		return cty.NilVal, false, false, fmt.Errorf("read object %s: %w", id, err)
	}
	v, pending, err = decodeThing(b)
	if err != nil {
		return cty.NilVal, false, false, fmt.Errorf("decode object %s: %w", id, err)
	}
	return v, pending, true, nil
}

// Objects lists the ids of the objects in the world, sorted.
func Objects(dataDir string) ([]string, error) {
	ents, err := os.ReadDir(WorldDir(dataDir))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list world: %w", err)
	}
	var ids []string
	for _, e := range ents {
		if n := e.Name(); filepath.Ext(n) == ".json" {
			ids = append(ids, n[:len(n)-len(".json")])
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// DeleteObject removes an object from the world, as if someone deleted it
// outside sdform.
func DeleteObject(dataDir, id string) error {
	if err := os.Remove(filepath.Join(WorldDir(dataDir), id+".json")); err != nil {
		return fmt.Errorf("delete object %s: %w", id, err)
	}
	return nil
}

// SetAttr changes one attribute of an object in the world, as if someone
// changed it outside sdform.
func SetAttr(dataDir, id, name string, v cty.Value) error {
	obj, pending, ok, err := readObject(dataDir, id)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("set attribute of %s: no such object", id)
	}
	return writeObject(WorldDir(dataDir), id, setAttr(obj, name, v), pending)
}
