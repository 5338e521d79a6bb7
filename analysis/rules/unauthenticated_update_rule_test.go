package rules

import "testing"

func TestUnauthenticatedUpdate(t *testing.T) {
	r := unauthenticatedUpdate{}
	expect(t, r, `
flows:
  - {id: fw-meter, from: he, to: meter, data: [{category: technical, kind: firmware}], protection: {encrypted: end-to-end}}
  - {id: fw-evse, from: agg, to: evse, data: [{category: technical, kind: firmware}], protection: {authenticated: true}}
  - {id: keys, from: he, to: meter, data: [{category: technical, kind: key-update}], protection: {integrity: true}}
  - {id: fw-ok, from: he, to: meter, data: [{category: technical, kind: firmware}], protection: {authenticated: true, integrity: true}}
`, "fw-meter EV.malicious-software", "fw-meter NESCOR.AMI-03",
		"fw-evse EV.malicious-software", "fw-evse NESCOR.ET-01", "keys NESCOR.AMI-02")
}
