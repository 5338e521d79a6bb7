package rules

import "github.com/usapp/usapp/analysis/model"

// unauthenticatedPriceSignal: a price that drives load but cannot be
// checked lets an attacker move many homes' demand at once.
type unauthenticatedPriceSignal struct{}

func (unauthenticatedPriceSignal) ID() string { return "unauthenticated-price-signal" }
func (unauthenticatedPriceSignal) Describe() string {
	return "A flow carries price signals without origin authentication and integrity."
}
func (unauthenticatedPriceSignal) Threats() []string {
	return []string{"EV.false-price-signal", "NESCOR.DR-01"}
}
func (unauthenticatedPriceSignal) Check(m *model.Model) []Hit {
	return flowHits(m, func(f *model.Flow) ([]string, string) {
		if !carries(f, model.PriceSignal) || tamperProof(f.Protection) {
			return nil, ""
		}
		return []string{"EV.false-price-signal", "NESCOR.DR-01"}, "price signals are not authenticated and integrity-protected, so a forged price would be acted on"
	})
}
