package rules

import "testing"

func TestHopOnlyEncryption(t *testing.T) {
	r := hopOnlyEncryption{}
	expect(t, r, `
flows:
  - {id: hop-via-other, from: evse, to: he, via: [gw, conc], data: [{category: customer, kind: identity, attributable: true}], protection: {authenticated: true, integrity: true, encrypted: hop}}
  - {id: e2e-via-other, from: evse, to: he, via: [gw, conc], data: [{category: customer, kind: identity, attributable: true}], protection: `+strong+`}
  - {id: hop-own-relay, from: evse, to: hems, via: [gw], data: [{category: personal, kind: preference, attributable: true}], protection: {encrypted: hop}}
  - {id: plaintext-across, from: meter, to: he, data: [{category: customer, kind: reading, attributable: true}]}
  - {id: subject-relay, from: meter, to: he, via: [gw], data: [{category: customer, kind: reading, attributable: true}], protection: {encrypted: hop}}
  - {id: not-sensitive, from: he, to: gw, via: [conc], data: [{category: technical, kind: price-signal}]}
`, "hop-via-other EV.sensitive-data-disclosure", "hop-via-other LINDDUN.DD",
		"plaintext-across EV.sensitive-data-disclosure", "plaintext-across LINDDUN.DD")
}
