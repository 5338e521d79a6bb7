package report

import (
	"bufio"
	"io"
	"slices"

	"github.com/usapp/usapp/analysis/model"
	"github.com/usapp/usapp/framework"
)

// Drift compares the controls a model assumes deployed with those a running
// role reports at GET /controls (framework.ControlsHandler, version 1).
// Controls are compared by ID only: the model places a control at a
// component, the role does not say which component it is, so a control the
// model assumes anywhere counts as present when the role runs it.
type Drift struct {
	Role    string                `json:"role"`
	Missing []framework.ControlID `json:"missing"` // assumed by the model, not running
	Extra   []framework.ControlID `json:"extra"`   // running, not in the model
}

// Clean reports whether model and deployment agree.
func (d *Drift) Clean() bool { return len(d.Missing) == 0 && len(d.Extra) == 0 }

// CompareDeployment computes the Drift between m's controls and a role's
// active controls. Both lists are sorted and free of duplicates.
func CompareDeployment(m *model.Model, role string, active []framework.Active) Drift {
	var assumed, running []framework.ControlID
	for _, c := range m.Controls {
		assumed = append(assumed, c.ID)
	}
	for _, a := range active {
		running = append(running, a.ID)
	}
	d := Drift{Role: role}
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

// DriftMarkdown writes d as a Markdown section.
func DriftMarkdown(w io.Writer, d *Drift) error {
	bw := bufio.NewWriter(w)
	md := &mdWriter{w: bw}
	md.f("## Deployment check: role %s\n\n", code(d.Role))
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
