package rules

import "testing"

func TestReplayableSignal(t *testing.T) {
	r := replayableSignal{}
	expect(t, r, `
flows:
  - {id: cs, from: agg, to: ev, data: [{category: technical, kind: control-signal}], protection: {authenticated: true, integrity: true, encrypted: end-to-end}}
  - {id: cmd, from: he, to: meter, data: [{category: technical, kind: command}]}
  - {id: fresh, from: he, to: meter, data: [{category: technical, kind: command}], protection: {replay_protected: true}}
  - {id: reading, from: meter, to: he, data: [{category: customer, kind: reading, attributable: true}]}
`, "cs EV.replay", "cmd EV.replay")
}
