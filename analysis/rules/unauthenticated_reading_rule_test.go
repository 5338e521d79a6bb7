package rules

import "testing"

func TestUnauthenticatedReading(t *testing.T) {
	r := unauthenticatedReading{}
	expect(t, r, `
flows:
  - {id: cross, from: meter, to: agg, data: [{category: customer, kind: reading}], protection: {authenticated: true}}
  - {id: sameowner, from: meter, to: he, data: [{category: customer, kind: reading}]}
  - {id: local, from: pv, to: hems, data: [{category: technical, kind: reading}]}
  - {id: signed, from: evse, to: agg, data: [{category: customer, kind: reading}], protection: {authenticated: true, integrity: true}}
`, "cross NESCOR.AMI-04")
}
