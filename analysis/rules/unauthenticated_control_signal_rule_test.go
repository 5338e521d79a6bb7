package rules

import "testing"

func TestUnauthenticatedControlSignal(t *testing.T) {
	r := unauthenticatedControlSignal{}
	expect(t, r, `
flows:
  - {id: weak, from: agg, to: ev, data: [{category: technical, kind: control-signal, frequency: 1s}], protection: {authenticated: true}}
  - {id: none, from: hems, to: evse, data: [{category: technical, kind: control-signal}]}
  - {id: ok, from: agg, to: ev, data: [{category: technical, kind: control-signal}], protection: {authenticated: true, integrity: true}}
  - {id: other, from: he, to: gw, data: [{category: technical, kind: price-signal}]}
`, "weak EV.false-control-signal", "none EV.false-control-signal")
}
