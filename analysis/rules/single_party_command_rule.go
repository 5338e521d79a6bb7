package rules

import "github.com/usapp/usapp/analysis/model"

// singlePartyCommand: administrative commands from one head-end or
// operator system reach many devices at once; one captured account can
// disconnect a whole area (NESCOR AMI mass-disconnect scenario). The
// catalogue's answer is A1.quorum-commands; the engine marks the finding
// mitigated where it is deployed.
type singlePartyCommand struct{}

func (singlePartyCommand) ID() string { return "single-party-command" }
func (singlePartyCommand) Describe() string {
	return "Administrative commands come from a single head-end or operator system."
}
func (singlePartyCommand) Threats() []string { return []string{"NESCOR.AMI-01", "NESCOR.DER-01"} }
func (singlePartyCommand) Check(m *model.Model) []Hit {
	return flowHits(m, func(f *model.Flow) ([]string, string) {
		src, dst := m.Component(f.From), m.Component(f.To)
		if src == nil || dst == nil || !carries(f, model.Command) {
			return nil, ""
		}
		if src.Type != model.HeadEnd && src.Type != model.DSO && src.Type != model.EVAggregator {
			return nil, ""
		}
		switch dst.Type {
		case model.Meter, model.Gateway:
			return []string{"NESCOR.AMI-01"}, "one operator system can command meters alone"
		case model.PV, model.Battery, model.EVSE, model.EV:
			return []string{"NESCOR.DER-01"}, "one operator system can change DER settings alone"
		}
		return nil, ""
	})
}
