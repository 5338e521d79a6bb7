package rules

import (
	"slices"

	"github.com/usapp/usapp/analysis/model"
)

// keyStorage: field devices hold long-term keys in places an attacker can
// reach physically. The engine marks the finding mitigated where
// B1.keys-at-rest (or another catalogue control for the threat) is deployed.
type keyStorage struct{}

var keyHolders = []model.ComponentType{model.Meter, model.Gateway, model.EVSE}

func (keyStorage) ID() string { return "key-storage" }
func (keyStorage) Describe() string {
	return "A field device (meter, gateway, charging point) stores long-term keys."
}
func (keyStorage) Threats() []string { return []string{"EV.poor-key-storage"} }
func (keyStorage) Check(m *model.Model) []Hit {
	var out []Hit
	for _, c := range m.Components {
		if slices.Contains(keyHolders, c.Type) {
			out = append(out, Hit{Threat: "EV.poor-key-storage", Element: c.ID,
				Reason: "a field device keeps long-term keys within physical reach of an attacker"})
		}
	}
	return out
}
