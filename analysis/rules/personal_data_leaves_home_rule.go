package rules

import "github.com/usapp/usapp/analysis/model"

// personalDataLeavesHome: personal data is the owner's only (spheres of
// control); once it leaves the home or vehicle un-anonymised and
// un-aggregated it is disclosed, whatever the transport protection.
type personalDataLeavesHome struct{}

func (personalDataLeavesHome) ID() string { return "personal-data-leaves-home" }
func (personalDataLeavesHome) Describe() string {
	return "Personal data leaves the home or vehicle boundary without anonymisation or aggregation."
}
func (personalDataLeavesHome) Threats() []string {
	return []string{"EV.sensitive-data-disclosure", "LINDDUN.DD"}
}
func (personalDataLeavesHome) Check(m *model.Model) []Hit {
	return flowHits(m, func(f *model.Flow) ([]string, string) {
		p := f.Protection
		if p.Anonymised || p.AggregatedMinK > 1 || !boundaryKind(m, f.From).Private() || boundary(m, f.From) == boundary(m, f.To) {
			return nil, ""
		}
		for _, d := range f.Data {
			if d.Category == "personal" {
				return []string{"EV.sensitive-data-disclosure", "LINDDUN.DD"}, "personal data leaves the owner's home or vehicle"
			}
		}
		return nil, ""
	})
}
