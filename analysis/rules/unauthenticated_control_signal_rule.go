package rules

import "github.com/usapp/usapp/analysis/model"

// unauthenticatedControlSignal: a set-point the receiver cannot attribute
// or check is a false control signal waiting to happen (EV case study).
type unauthenticatedControlSignal struct{}

func (unauthenticatedControlSignal) ID() string { return "unauthenticated-control-signal" }
func (unauthenticatedControlSignal) Describe() string {
	return "A flow carries control signals without origin authentication and integrity."
}
func (unauthenticatedControlSignal) Threats() []string { return []string{"EV.false-control-signal"} }
func (unauthenticatedControlSignal) Check(m *model.Model) []Hit {
	return flowHits(m, func(f *model.Flow) ([]string, string) {
		if !carries(f, model.ControlSignal) || tamperProof(f.Protection) {
			return nil, ""
		}
		return []string{"EV.false-control-signal"}, "control signals are not authenticated and integrity-protected, so anyone on the path can forge or alter them"
	})
}
