package rules

import "github.com/usapp/usapp/analysis/model"

// detectableHighFrequency: attributable technical or personal data at a
// minute or finer reveals activities inside the home (non-intrusive load
// monitoring) and identifies the household to whoever receives it. Without
// the data subject's consent that is LINDDUN identifying and detecting.
type detectableHighFrequency struct{}

func (detectableHighFrequency) ID() string { return "detectable-high-frequency" }
func (detectableHighFrequency) Describe() string {
	return "Attributable technical or personal data at one minute or finer goes to another owner without consent."
}
func (detectableHighFrequency) Threats() []string { return []string{"LINDDUN.I", "LINDDUN.D"} }
func (detectableHighFrequency) Check(m *model.Model) []Hit {
	return flowHits(m, func(f *model.Flow) ([]string, string) {
		if f.Protection.Anonymised || f.Protection.AggregatedMinK > 1 || owner(m, f.From) == owner(m, f.To) || consented(m, f) {
			return nil, ""
		}
		for _, d := range f.Data {
			if d.Attributable && d.Frequency > 0 && d.Frequency <= highFrequency && d.Category != "customer" {
				return []string{"LINDDUN.I", "LINDDUN.D"}, "fine-grained attributable data goes to another party without the data subject's consent"
			}
		}
		return nil, ""
	})
}
