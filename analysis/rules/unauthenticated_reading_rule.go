package rules

import "github.com/usapp/usapp/analysis/model"

// unauthenticatedReading: readings that reach another party unprotected
// can be altered on the way, for theft or to mislead operation.
type unauthenticatedReading struct{}

func (unauthenticatedReading) ID() string { return "unauthenticated-reading" }
func (unauthenticatedReading) Describe() string {
	return "Readings reach a party of another owner without origin authentication and integrity."
}
func (unauthenticatedReading) Threats() []string { return []string{"NESCOR.AMI-04"} }
func (unauthenticatedReading) Check(m *model.Model) []Hit {
	return flowHits(m, func(f *model.Flow) ([]string, string) {
		if !carries(f, model.Reading) || tamperProof(f.Protection) || owner(m, f.From) == owner(m, f.To) {
			return nil, ""
		}
		return []string{"NESCOR.AMI-04"}, "readings cross to another owner without authentication and integrity, so they can be altered"
	})
}
