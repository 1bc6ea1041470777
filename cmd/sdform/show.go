package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sdform/sdform/internal/view"
	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/planner/plan"
	"github.com/sdform/sdform/planner/state"
)

const showUsage = `Usage: sdform show [options] [PLANFILE]

With PLANFILE (from "sdform plan -out=PLANFILE"), prints that plan as plan
printed it; with -json, as the documented JSON (docs/json-format.md), for
review tools. Without PLANFILE, prints every object in the state and the
outputs.

Examples:
  sdform show
  sdform show -json release.plan > plan.json
`

func (c *cli) runShow(ctx context.Context, args []string) int {
	var asJSON bool
	fs := c.commandFlags("show")
	fs.BoolVar(&asJSON, "json", false, "Print as JSON")
	rest, code, ok := c.parse(fs, args, showUsage)
	if !ok {
		return code
	}
	switch len(rest) {
	case 0:
		return c.showState(asJSON)
	case 1:
		p, err := readPlanFile(rest[0])
		if err != nil {
			return c.fail(err)
		}
		if asJSON {
			err = view.PlanJSON(c.stdout, p, nil, nil)
		} else {
			err = view.Plan(c.stdout, p, c.viewOptions(c.stdout))
		}
		if err != nil {
			return c.fail(err)
		}
		return exitOK
	}
	return c.usageError("show", fmt.Sprintf("show takes at most one plan file, got %q", rest))
}

// statePath is the state file of the configuration in the working
// directory; a configuration with errors still names its state (or the
// default one).
func statePath() string {
	cfg, _ := lang.Load(".")
	return cfg.StateFile()
}

func (c *cli) showState(asJSON bool) int {
	st, err := state.Load(statePath())
	if err != nil {
		return c.fail(err)
	}
	if st.Serial == 0 {
		st.Lineage = "" // no state written yet: none to name, not a made-up one
	}
	if !asJSON {
		if err := view.State(c.stdout, st, c.viewOptions(c.stdout)); err != nil {
			return c.fail(err)
		}
		return exitOK
	}
	type resourceJSON struct {
		Address  string `json:"address"`
		Mode     string `json:"mode"`
		Type     string `json:"type"`
		Name     string `json:"name"`
		Provider string `json:"provider"`
		Values   any    `json:"values"`
		// SensitiveValues marks the values printed as "(sensitive
		// value)", as before_sensitive does in the plan view.
		SensitiveValues any `json:"sensitive_values"`
	}
	type outputJSON struct {
		Value     any  `json:"value"`
		Sensitive bool `json:"sensitive"`
	}
	doc := struct {
		FormatVersion string                `json:"format_version"`
		SdformVersion string                `json:"sdform_version"`
		Serial        uint64                `json:"serial"`
		Lineage       string                `json:"lineage"`
		Resources     []resourceJSON        `json:"resources"`
		Outputs       map[string]outputJSON `json:"outputs"`
	}{plan.FormatVersion, st.SdformVersion, st.Serial, st.Lineage, []resourceJSON{}, map[string]outputJSON{}}
	for _, r := range st.Resources {
		v, sens, err := plan.JSONValueSensitive(r.Value, r.SensitivePaths)
		if err != nil {
			return c.fail(fmt.Errorf("render %s: %w", r.Address, err))
		}
		doc.Resources = append(doc.Resources, resourceJSON{r.Address, r.Mode, r.Type, r.Name, r.Provider, v, sens})
	}
	for name, o := range st.Outputs {
		var v any = plan.SensitiveString
		if !o.Sensitive {
			if v, err = plan.JSONValue(o.Value); err != nil {
				return c.fail(fmt.Errorf("render output %s: %w", name, err))
			}
		}
		doc.Outputs[name] = outputJSON{v, o.Sensitive}
	}
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return c.fail(err)
	}
	return exitOK
}
