package rules

import "testing"

func TestUnauthenticatedPriceSignal(t *testing.T) {
	r := unauthenticatedPriceSignal{}
	expect(t, r, `
flows:
  - {id: bcast, from: he, to: gw, via: [conc], data: [{category: technical, kind: price-signal, frequency: 30m}], protection: {encrypted: end-to-end}}
  - {id: signed, from: gw, to: hems, data: [{category: technical, kind: price-signal}], protection: {authenticated: true, integrity: true}}
`, "bcast EV.false-price-signal", "bcast NESCOR.DR-01")
}
