package rules

import "testing"

func TestAttributableLocation(t *testing.T) {
	r := attributableLocation{}
	expect(t, r, `
flows:
  - {id: position, from: ev, to: agg, data: [{category: personal, kind: location, frequency: 1m, attributable: true}], protection: `+strong+`}
  - {id: plug-in, from: ev, to: evse, data: [{category: customer, kind: identity, attributable: true}]}
  - {id: pseudonymous, from: ev, to: agg, data: [{category: personal, kind: location, attributable: true}], protection: {anonymised: true}}
  - {id: meter-id, from: meter, to: agg, data: [{category: customer, kind: identity, attributable: true}]}
`, "position EV.identity-location-privacy", "position NESCOR.ET-02", "plug-in EV.identity-location-privacy", "plug-in NESCOR.ET-02")
}
