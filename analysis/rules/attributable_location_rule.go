package rules

import "github.com/usapp/usapp/analysis/model"

// attributableLocation: where a vehicle is, tied to who drives it, is the
// EV case study's identity-and-location breach; an EV identifying itself
// to a charging point of another owner reveals the same.
type attributableLocation struct{}

func (attributableLocation) ID() string { return "attributable-location" }
func (attributableLocation) Describe() string {
	return "Attributable location, or an EV's identity, reaches a party of another owner."
}
func (attributableLocation) Threats() []string {
	return []string{"EV.identity-location-privacy", "NESCOR.ET-02"}
}
func (attributableLocation) Check(m *model.Model) []Hit {
	return flowHits(m, func(f *model.Flow) ([]string, string) {
		if f.Protection.Anonymised || owner(m, f.From) == owner(m, f.To) {
			return nil, ""
		}
		src := m.Component(f.From)
		for _, d := range f.Data {
			if !d.Attributable {
				continue
			}
			if d.Kind == model.Location || (d.Kind == model.Identity && src != nil && src.Type == model.EV) {
				return []string{"EV.identity-location-privacy", "NESCOR.ET-02"}, "another party learns where an identified vehicle or person is"
			}
		}
		return nil, ""
	})
}
