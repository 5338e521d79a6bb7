package report

import (
	"bufio"
	"io"
	"slices"
	"strings"

	"github.com/usapp/usapp/analysis/model"
	"github.com/usapp/usapp/framework"
)

// Drift compares the controls a model assumes deployed with those a running
// role reports at GET /controls (framework.ControlsHandler, version 1).
//
// A role runs only part of a system, so it is held to the part of the model
// it implements (its Scope): the controls the model places on components of
// the role's types (roleComponents) and on the flows that leave, reach or
// cross them. The CA, which has no component type of its own, is held to the
// model's key management (subclass A1) wherever placed; a role this package
// does not know, to the whole model. Controls are compared by ID.
type Drift struct {
	Role    string                `json:"role"`
	Scope   string                `json:"scope"`   // what of the model the role was held to
	Missing []framework.ControlID `json:"missing"` // assumed by the model in scope, not running
	Extra   []framework.ControlID `json:"extra"`   // running, not in the model in scope
}

// roleComponents are the model's component types each USaPP role
// implements. The gateway daemon also runs the home's meters and its HEMS.
var roleComponents = map[string][]model.ComponentType{
	"headend": {model.HeadEnd},
	"gateway": {model.Gateway, model.Meter, model.HEMS},
}

// caRole is the CA's role name; see Drift.
const caRole = "ca"

// Clean reports whether model and deployment agree.
func (d *Drift) Clean() bool { return len(d.Missing) == 0 && len(d.Extra) == 0 }

// CompareDeployment computes the Drift between m's controls in the role's
// scope and the role's active controls. Both lists are sorted and free of
// duplicates.
func CompareDeployment(m *model.Model, role string, active []framework.Active) Drift {
	inScope, scope := scopeOf(m, role)
	var assumed, running []framework.ControlID
	for _, c := range m.Controls {
		if inScope(c) {
			assumed = append(assumed, c.ID)
		}
	}
	for _, a := range active {
		running = append(running, a.ID)
	}
	d := Drift{Role: role, Scope: scope}
	for _, id := range sortedUnion(assumed, running) {
		switch in, want := slices.Contains(running, id), slices.Contains(assumed, id); {
		case want && !in:
			d.Missing = append(d.Missing, id)
		case in && !want:
			d.Extra = append(d.Extra, id)
		}
	}
	return d
}

// scopeOf is the part of m that role implements, as a test on the model's
// controls and in words.
func scopeOf(m *model.Model, role string) (func(model.Control) bool, string) {
	if role == caRole {
		return func(c model.Control) bool { return c.ID.Subclass() == framework.A1 },
			"the model's key management (subclass A1), wherever placed"
	}
	types, ok := roleComponents[role]
	if !ok {
		return func(model.Control) bool { return true }, "the whole model (a role this version does not know)"
	}
	mine := map[string]bool{}
	for _, c := range m.Components {
		if slices.Contains(types, c.Type) {
			mine[c.ID] = true
		}
	}
	touches := func(f *model.Flow) bool {
		return mine[f.From] || mine[f.To] || slices.ContainsFunc(f.Via, func(v string) bool { return mine[v] })
	}
	in := func(c model.Control) bool {
		if mine[c.At] {
			return true
		}
		f := m.Flow(c.At)
		return f != nil && touches(f)
	}
	names := make([]string, len(types))
	for i, t := range types {
		names[i] = string(t)
	}
	return in, "the controls the model places on its " + strings.Join(names, ", ") +
		" components and on the flows that leave, reach or cross them"
}

// DriftMarkdown writes d as a Markdown section.
func DriftMarkdown(w io.Writer, d *Drift) error {
	bw := bufio.NewWriter(w)
	md := &mdWriter{w: bw}
	md.f("## Deployment check: role %s\n\n", code(d.Role))
	md.f("Held to %s.\n\n", d.Scope)
	if d.Clean() {
		md.f("The role runs every control the model assumes, and no other.\n")
		return bw.Flush()
	}
	md.f("- Assumed by the model but not running: %s\n", orNone(codeList(d.Missing)))
	md.f("- Running but not in the model: %s\n", orNone(codeList(d.Extra)))
	return bw.Flush()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
