package rules

import "github.com/usapp/usapp/analysis/model"

// noAccountability: what an EV aggregator orders or is told must be
// attributable afterwards, or disputes over delivered services cannot be
// settled; a flow that needs accountability needs the same.
type noAccountability struct{}

func (noAccountability) ID() string { return "no-accountability" }
func (noAccountability) Describe() string {
	return "A flow to or from an EV aggregator, or one that requires accountability, lacks authentication or integrity."
}
func (noAccountability) Threats() []string { return []string{"EV.lack-of-accountability"} }
func (noAccountability) Check(m *model.Model) []Hit {
	needs := map[string]bool{}
	for _, r := range m.Requirements {
		if r.Requirement == "accountability" {
			needs[r.At] = true
		}
	}
	return flowHits(m, func(f *model.Flow) ([]string, string) {
		if tamperProof(f.Protection) {
			return nil, ""
		}
		if needs[f.ID] || isEVAggregator(m, f.From) || isEVAggregator(m, f.To) {
			return []string{"EV.lack-of-accountability"}, "the flow cannot be attributed to its sender afterwards"
		}
		return nil, ""
	})
}

func isEVAggregator(m *model.Model, id string) bool {
	c := m.Component(id)
	return c != nil && c.Type == model.EVAggregator
}
