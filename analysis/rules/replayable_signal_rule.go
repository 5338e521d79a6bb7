package rules

import "github.com/usapp/usapp/analysis/model"

// replayableSignal: a signed instruction without freshness can be recorded
// and sent again later, when it does harm.
type replayableSignal struct{}

func (replayableSignal) ID() string { return "replayable-signal" }
func (replayableSignal) Describe() string {
	return "A flow carries signals or commands a receiver acts on, without replay protection."
}
func (replayableSignal) Threats() []string { return []string{"EV.replay"} }
func (replayableSignal) Check(m *model.Model) []Hit {
	return flowHits(m, func(f *model.Flow) ([]string, string) {
		if f.Protection.ReplayProtected || !carries(f, model.ControlSignal, model.Command, model.PriceSignal, model.NetworkState) {
			return nil, ""
		}
		return []string{"EV.replay"}, "signals or commands carry no freshness, so a recorded copy can be replayed"
	})
}
