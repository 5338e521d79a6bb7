package rules

import "testing"

func TestNoAccountability(t *testing.T) {
	r := noAccountability{}
	expect(t, r, `
flows:
  - {id: to-agg, from: evse, to: agg, data: [{category: customer, kind: reading}], protection: {authenticated: true, encrypted: end-to-end}}
  - {id: from-agg, from: agg, to: ev, data: [{category: technical, kind: control-signal}], protection: {integrity: true}}
  - {id: audited, from: he, to: meter, data: [{category: technical, kind: command}]}
  - {id: unaudited, from: pv, to: hems, data: [{category: technical, kind: reading}]}
  - {id: ok, from: agg, to: ev, data: [{category: technical, kind: control-signal}], protection: {authenticated: true, integrity: true}}
requirements:
  - {requirement: accountability, at: audited}
`, "to-agg EV.lack-of-accountability", "from-agg EV.lack-of-accountability", "audited EV.lack-of-accountability")
}
