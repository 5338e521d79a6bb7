package rules

import "testing"

func TestUnauthenticatedNetworkState(t *testing.T) {
	r := unauthenticatedNetworkState{}
	expect(t, r, `
flows:
  - {id: intact, from: he, to: hems, data: [{category: technical, kind: network-state}], protection: {integrity: true, encrypted: end-to-end}}
  - {id: signed, from: he, to: agg, data: [{category: technical, kind: network-state}], protection: {authenticated: true, integrity: true}}
`, "intact EV.false-network-state-signal")
}
