package rules

import "github.com/usapp/usapp/analysis/model"

// unauthenticatedUpdate: software and keys installed without proof of
// origin hand the device to whoever can reach it.
type unauthenticatedUpdate struct{}

func (unauthenticatedUpdate) ID() string { return "unauthenticated-update" }
func (unauthenticatedUpdate) Describe() string {
	return "Firmware or key updates reach a device without origin authentication and integrity."
}
func (unauthenticatedUpdate) Threats() []string {
	return []string{"EV.malicious-software", "NESCOR.AMI-02", "NESCOR.AMI-03", "NESCOR.ET-01"}
}
func (unauthenticatedUpdate) Check(m *model.Model) []Hit {
	return flowHits(m, func(f *model.Flow) ([]string, string) {
		if tamperProof(f.Protection) {
			return nil, ""
		}
		var out []string
		if carries(f, model.Firmware) {
			out = append(out, "EV.malicious-software")
			if c := m.Component(f.To); c != nil {
				switch c.Type {
				case model.Meter:
					out = append(out, "NESCOR.AMI-03")
				case model.EVSE:
					out = append(out, "NESCOR.ET-01")
				}
			}
		}
		if carries(f, model.KeyUpdate) {
			out = append(out, "NESCOR.AMI-02")
		}
		return out, "software or keys are installed without proof of origin and integrity"
	})
}
