package rules

import (
	"slices"
	"strings"

	"github.com/usapp/usapp/analysis/model"
)

// hopOnlyEncryption: with hop-by-hop (or no) encryption every intermediary
// reads the payload; when one belongs to an onlooker (model.Onlookers: not
// an end's owner and not one of the data's subjects: the household's own
// gateway relaying its utility meter's readings is none), or the flow
// crosses a trust boundary in plaintext, attributable or personal data is
// disclosed to a party that was never meant to see it.
type hopOnlyEncryption struct{}

func (hopOnlyEncryption) ID() string { return "hop-only-encryption" }
func (hopOnlyEncryption) Describe() string {
	return "Attributable or personal data crosses a trust boundary without end-to-end encryption, readable by intermediaries of other owners."
}
func (hopOnlyEncryption) Threats() []string {
	return []string{"EV.sensitive-data-disclosure", "LINDDUN.DD"}
}
func (hopOnlyEncryption) Check(m *model.Model) []Hit {
	return flowHits(m, func(f *model.Flow) ([]string, string) {
		p := f.Protection
		if p.Encrypted == model.EndToEnd || p.Anonymised || !sensitive(f) {
			return nil, ""
		}
		if o := m.Onlookers(f); len(o) > 0 {
			return []string{"EV.sensitive-data-disclosure", "LINDDUN.DD"}, "intermediaries of " + strings.Join(o, ", ") + ", who neither send nor receive it nor are its subjects, read the data (no end-to-end encryption)"
		}
		if p.Encrypted != model.Hop && boundary(m, f.From) != boundary(m, f.To) {
			return []string{"EV.sensitive-data-disclosure", "LINDDUN.DD"}, "the data crosses a trust boundary in plaintext"
		}
		return nil, ""
	})
}

func sensitive(f *model.Flow) bool {
	return slices.ContainsFunc(f.Data, func(d model.Datum) bool { return d.Attributable || d.Category == "personal" })
}
