package rules

import "github.com/usapp/usapp/analysis/model"

// unauthenticatedNetworkState: forged congestion or voltage reports make
// flexible loads react to a grid state that does not exist.
type unauthenticatedNetworkState struct{}

func (unauthenticatedNetworkState) ID() string { return "unauthenticated-network-state" }
func (unauthenticatedNetworkState) Describe() string {
	return "A flow carries network-state signals without origin authentication and integrity."
}
func (unauthenticatedNetworkState) Threats() []string {
	return []string{"EV.false-network-state-signal"}
}
func (unauthenticatedNetworkState) Check(m *model.Model) []Hit {
	return flowHits(m, func(f *model.Flow) ([]string, string) {
		if !carries(f, model.NetworkState) || tamperProof(f.Protection) {
			return nil, ""
		}
		return []string{"EV.false-network-state-signal"}, "network-state signals are not authenticated and integrity-protected"
	})
}
