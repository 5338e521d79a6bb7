package rules

import "testing"

func TestDetectableHighFrequency(t *testing.T) {
	r := detectableHighFrequency{}
	expect(t, r, `
flows:
  - {id: fine, from: ev, to: agg, data: [{category: technical, kind: reading, frequency: 1s, attributable: true}], protection: `+strong+`}
  - {id: minute, from: gw, to: he, data: [{category: personal, kind: reading, frequency: 1m, attributable: true}]}
  - {id: consented, from: ev, to: agg, data: [{category: technical, kind: reading, frequency: 1s, attributable: true}], consent: [driver]}
  - {id: coarse, from: gw, to: he, data: [{category: technical, kind: reading, frequency: 2m, attributable: true}]}
  - {id: anon, from: gw, to: he, data: [{category: technical, kind: reading, frequency: 1s, attributable: true}], protection: {anonymised: true}}
  - {id: billing, from: gw, to: he, data: [{category: customer, kind: reading, frequency: 1m, attributable: true}]}
  - {id: own, from: meter, to: he, data: [{category: technical, kind: reading, frequency: 1s, attributable: true}]}
`, "fine LINDDUN.I", "fine LINDDUN.D", "minute LINDDUN.I", "minute LINDDUN.D")
}

// A utility's meter measures the household: the household's consent counts.
func TestDetectableHighFrequencyHouseholdConsent(t *testing.T) {
	expect(t, detectableHighFrequency{}, `
flows:
  - {id: local, from: meter, to: hems, data: [{category: personal, kind: reading, frequency: 10s, attributable: true}], consent: [home]}
  - {id: stranger, from: meter, to: agg, data: [{category: personal, kind: reading, frequency: 10s, attributable: true}], consent: [aggco]}
`, "stranger LINDDUN.I", "stranger LINDDUN.D")
}
