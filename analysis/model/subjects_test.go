package model

import (
	"slices"
	"testing"
)

// trustModel: a utility meter in a home sends readings to the supplier
// through a network operator's concentrator and a broker's relay; the
// household trusts the operator 0.75 and does not list the broker.
const trustModel = `
model: {name: trust}
stakeholders:
  - {id: house, trusts: {op: 0.75, sup: 0.5}}
  - {id: sup, trusts: {op: 0.5, broker: 0.5}}
  - {id: op}
  - {id: broker}
trust_boundaries:
  - {id: h, kind: home}
  - {id: s, kind: utility}
  - {id: n, kind: network}
components:
  - {id: meter, type: meter, owner: sup, domain: house, category: physical, layer: component, trust_boundary: h}
  - {id: gw, type: gateway, owner: house, domain: house, category: cyber, layer: network, trust_boundary: h}
  - {id: dc, type: gateway, owner: op, domain: distribution, category: cyber, layer: network, trust_boundary: n}
  - {id: relay, type: gateway, owner: broker, domain: distribution, category: cyber, layer: network, trust_boundary: n}
  - {id: he, type: headend, owner: sup, domain: retail, category: cyber, layer: function, trust_boundary: s}
flows:
  - {id: reads, from: meter, to: he, via: [gw, dc], data: [{category: technical, kind: reading, attributable: true}], protection: {encrypted: hop}}
  - {id: brokered, from: meter, to: he, via: [dc, relay], data: [{category: technical, kind: reading, attributable: true}]}
  - {id: sealed, from: meter, to: he, via: [dc, relay], data: [{category: technical, kind: reading, attributable: true}], protection: {encrypted: end-to-end}}
  - {id: tariff, from: he, to: gw, via: [dc], data: [{category: technical, kind: price-signal}]}
`

func TestSubjectsOnlookersAndDistrust(t *testing.T) {
	m, err := Parse([]byte(trustModel), "trust.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		flow      string
		subjects  []string
		onlookers []string
		distrust  float64
	}{
		// The household is a subject of its utility meter's readings. The
		// gateway is the household's own, so only the operator looks on;
		// the supplier trusts it 0.5 and the household 0.75, and the larger
		// distrust counts.
		{"reads", []string{"sup", "house"}, []string{"op"}, 0.5},
		// The household does not list the broker: trusted 0.
		{"brokered", []string{"sup", "house"}, []string{"op", "broker"}, 1},
		// End-to-end encryption leaves nobody on the way able to read.
		{"sealed", []string{"sup", "house"}, nil, 0},
		// A flow from outside a home has its sender's owner as its subject.
		{"tariff", []string{"sup"}, []string{"op"}, 0.5},
	} {
		f := m.Flow(tc.flow)
		if got := m.Subjects(f); !slices.Equal(got, tc.subjects) {
			t.Errorf("%s: subjects %v, want %v", tc.flow, got, tc.subjects)
		}
		if got := m.Onlookers(f); !slices.Equal(got, tc.onlookers) {
			t.Errorf("%s: onlookers %v, want %v", tc.flow, got, tc.onlookers)
		}
		if got := m.Distrust(f); got != tc.distrust {
			t.Errorf("%s: distrust %v, want %v", tc.flow, got, tc.distrust)
		}
	}
	if m.Trust("house", "house") != 1 || m.Trust("house", "op") != 0.75 || m.Trust("op", "house") != 0 || m.Trust("nobody", "op") != 0 {
		t.Error("Trust: want 1 for itself, the listed value, 0 when unlisted or undeclared")
	}
}
