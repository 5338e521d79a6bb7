package rules

import "testing"

func TestPersonalDataLeavesHome(t *testing.T) {
	r := personalDataLeavesHome{}
	expect(t, r, `
flows:
  - {id: out, from: hems, to: he, data: [{category: personal, kind: preference}], protection: `+strong+`}
  - {id: vehicle, from: ev, to: agg, data: [{category: personal, kind: location, frequency: 1m, attributable: true}]}
  - {id: inside, from: meter, to: hems, data: [{category: personal, kind: reading, frequency: 10s}]}
  - {id: aggregated, from: gw, to: he, data: [{category: personal, kind: reading}], protection: {aggregated_min_k: 5}}
  - {id: technical, from: gw, to: he, data: [{category: technical, kind: reading}]}
`, "out EV.sensitive-data-disclosure", "out LINDDUN.DD", "vehicle EV.sensitive-data-disclosure", "vehicle LINDDUN.DD")
}
