package rules

import "testing"

func TestSinglePartyCommand(t *testing.T) {
	r := singlePartyCommand{}
	// Even a fully protected command is one operator's decision: the rule
	// is about who can send it, not how it travels.
	expect(t, r, `
flows:
  - {id: disconnect, from: he, to: meter, data: [{category: technical, kind: command}], protection: `+strong+`}
  - {id: der, from: agg, to: evse, data: [{category: technical, kind: command}]}
  - {id: local, from: hems, to: evse, data: [{category: technical, kind: command}]}
  - {id: reading, from: he, to: meter, data: [{category: technical, kind: control-signal}]}
`, "disconnect NESCOR.AMI-01", "der NESCOR.DER-01")
}
