// Package framework is the shared vocabulary of USaPP: the three classes of
// controls, their nine subclasses, and the identifiers of the controls this
// repository implements.
//
// The classification follows Kalogridis, Sooriyabandara, Fan and Mustafa,
// "Toward Unified Security and Privacy Protection for Smart Meter Networks":
// communications security (A1 cryptosystem, A2 routing security, A3 network
// privacy), secure computing (B1 hardware and software security, B2
// physical-cyber security analysis, B3 reliability and availability) and
// system control (C1 private data handling, C2 spheres of control, C3 secure
// energy management).
//
// A control ID has the form "<subclass>.<slug>", for example "A1.enrolment".
// The same IDs appear in package doc comments, in the analysis catalogue and in
// the GET /controls answer of every running role, so that a model can be
// checked against a deployment in one vocabulary.
//
// This package has no dependencies beyond the standard library.
package framework

import (
	"fmt"
	"sort"
	"strings"
)

// Class is one of the three classes of controls.
type Class string

// The three classes.
const (
	Communications Class = "communications"
	Computing      Class = "computing"
	Control        Class = "control"
)

// Subclass is one of the nine subclasses, "A1" to "C3".
type Subclass string

// The nine subclasses.
const (
	A1 Subclass = "A1" // cryptosystem: PKI, enrolment, key update, defence in depth
	A2 Subclass = "A2" // routing security: end-to-end protection through aggregators
	A3 Subclass = "A3" // network privacy: confidentiality, anonymity at every layer
	B1 Subclass = "B1" // hardware and software security: keys at rest, least privilege
	B2 Subclass = "B2" // physical-cyber security analysis: one IDS over cyber and energy events
	B3 Subclass = "B3" // reliability and availability: integrity feedback, survivability
	C1 Subclass = "C1" // private data handling: privacy principles enforced by PETs
	C2 Subclass = "C2" // spheres of control: customer, technical, strictly personal data
	C3 Subclass = "C3" // secure energy management: battery load hiding
)

// Subclasses lists the nine subclasses in order.
var Subclasses = []Subclass{A1, A2, A3, B1, B2, B3, C1, C2, C3}

// Class reports the class a subclass belongs to, or "" for an unknown one.
func (s Subclass) Class() Class {
	switch {
	case len(s) != 2 || s[1] < '1' || s[1] > '3':
		return ""
	case s[0] == 'A':
		return Communications
	case s[0] == 'B':
		return Computing
	case s[0] == 'C':
		return Control
	}
	return ""
}

// ControlID names a control, "<subclass>.<slug>".
type ControlID string

// Subclass returns the subclass part of the ID.
func (id ControlID) Subclass() Subclass {
	s, _, _ := strings.Cut(string(id), ".")
	return Subclass(s)
}

// Validate reports whether the ID is well formed and names a known subclass.
func (id ControlID) Validate() error {
	sub, slug, ok := strings.Cut(string(id), ".")
	if !ok || slug == "" {
		return fmt.Errorf("control id %q: want <subclass>.<slug>", id)
	}
	if Subclass(sub).Class() == "" {
		return fmt.Errorf("control id %q: unknown subclass %q", id, sub)
	}
	for _, r := range slug {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Errorf("control id %q: slug may hold only a-z, 0-9 and '-'", id)
		}
	}
	return nil
}

// Controls implemented in this repository. Each names the package that
// implements it; roles report the subset they run at GET /controls.
const (
	Enrolment          ControlID = "A1.enrolment"            // comms/pki, comms/pki/est
	CertRotation       ControlID = "A1.certificate-rotation" // comms/pki
	Revocation         ControlID = "A1.revocation"           // comms/pki
	SignedMessages     ControlID = "A1.signed-messages"      // comms/envelope
	ReplayProtection   ControlID = "A1.replay-protection"    // comms/envelope, roles/headend
	EndToEndEncryption ControlID = "A2.end-to-end-encryption"
	BusAccessControl   ControlID = "A3.bus-access-control" // platform/bus
	KeysAtRest         ControlID = "B1.keys-at-rest"       // computing/keystore
	IntegrityFeedback  ControlID = "B3.integrity-feedback" // computing/ledger
	StoreAndForward    ControlID = "B3.store-and-forward"  // computing/spool
	DurableBus         ControlID = "B3.durable-bus"        // platform/bus
	SpheresOfControl   ControlID = "C2.spheres-of-control" // metering, billing: customer data only as 30-minute registers
)

// Active is a control a running role has switched on, with the parameters a
// reviewer needs to judge it (algorithms, windows, sizes).
type Active struct {
	ID     ControlID         `json:"id"`
	Params map[string]string `json:"params,omitempty"`
}

// SortActive orders a list of active controls by ID, for stable output.
func SortActive(a []Active) {
	sort.Slice(a, func(i, j int) bool { return a[i].ID < a[j].ID })
}
