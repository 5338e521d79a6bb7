package catalogue

import (
	"slices"

	"github.com/usapp/usapp/framework"
)

// Source is where an entry was defined.
type Source struct {
	File string
	Line int
}

// Subclass describes one of the nine subclasses of the framework.
type Subclass struct {
	ID      framework.Subclass
	Class   framework.Class // derived from ID
	Name    string
	Purpose string
	Source  Source
}

// Control is one entry of the pool of controls the analysis chooses from.
type Control struct {
	ID           framework.ControlID
	Name         string
	Subclass     framework.Subclass
	Class        framework.Class // derived from Subclass
	Layers       []framework.Layer
	Mitigates    []string // threat IDs
	Requirements []framework.Requirement
	Cost         int // relative, 1 (cheap) to 10 (costly)
	// Package is the Go package of this repository that implements the
	// control, as a path relative to the module root ("comms/envelope"), or
	// "" when no package does yet.
	Package     string
	Services    []string // short tags of what the control delivers, for overlap detection
	References  []string // reference IDs, e.g. "SG.IA"
	Description string
	Source      Source
}

// ThreatKind says what sort of harm a threat is.
type ThreatKind string

// The three kinds of threat.
const (
	Security ThreatKind = "security"
	Privacy  ThreatKind = "privacy"
	Failure  ThreatKind = "failure" // a failure scenario of the NESCOR kind
)

// ThreatKinds lists the kinds in report order.
var ThreatKinds = []ThreatKind{Security, Privacy, Failure}

// Threat is something that can go wrong; controls name the threats they
// mitigate.
type Threat struct {
	ID           string
	Name         string
	Kind         ThreatKind
	Requirements []framework.Requirement // the requirements it violates
	Description  string
	References   []string
	Source       Source
}

// Reference is an external requirement family (NISTIR 7628) that threats
// and controls may cite.
type Reference struct {
	ID     string
	Name   string
	Source Source
}

// Note records that a later file replaced an entry with the same ID.
type Note struct {
	Kind     string // "subclass", "control", "threat" or "reference"
	ID       string
	By       Source // the replacing definition
	Replaced Source // the definition it replaced
}

// Catalogue is a validated, immutable set of subclasses, controls, threats
// and references. It is safe for concurrent use; lookups return copies.
type Catalogue struct {
	subclasses map[framework.Subclass]*Subclass
	controls   map[framework.ControlID]*Control
	threats    map[string]*Threat
	references map[string]*Reference

	controlIDs   []framework.ControlID // sorted
	threatIDs    []string              // sorted
	referenceIDs []string              // sorted
	byThreat     map[string][]framework.ControlID
	notes        []Note
}

// Subclasses returns the nine subclasses in framework order.
func (c *Catalogue) Subclasses() []Subclass {
	out := make([]Subclass, 0, len(framework.Subclasses))
	for _, id := range framework.Subclasses {
		if s, ok := c.subclasses[id]; ok {
			out = append(out, *s)
		}
	}
	return out
}

// Control looks a control up by ID.
func (c *Catalogue) Control(id framework.ControlID) (Control, bool) {
	x, ok := c.controls[id]
	if !ok {
		return Control{}, false
	}
	return x.clone(), true
}

// Controls returns every control, sorted by ID.
func (c *Catalogue) Controls() []Control {
	out := make([]Control, len(c.controlIDs))
	for i, id := range c.controlIDs {
		out[i] = c.controls[id].clone()
	}
	return out
}

// ControlsIn returns the controls of one subclass, sorted by ID.
func (c *Catalogue) ControlsIn(s framework.Subclass) []Control {
	var out []Control
	for _, id := range c.controlIDs {
		if id.Subclass() == s {
			out = append(out, c.controls[id].clone())
		}
	}
	return out
}

// Threat looks a threat up by ID.
func (c *Catalogue) Threat(id string) (Threat, bool) {
	x, ok := c.threats[id]
	if !ok {
		return Threat{}, false
	}
	return x.clone(), true
}

// Threats returns every threat, sorted by ID.
func (c *Catalogue) Threats() []Threat {
	out := make([]Threat, len(c.threatIDs))
	for i, id := range c.threatIDs {
		out[i] = c.threats[id].clone()
	}
	return out
}

// ControlsFor returns the controls that mitigate a threat, sorted by ID;
// nil for a threat no control mitigates or an unknown ID.
func (c *Catalogue) ControlsFor(threatID string) []Control {
	ids := c.byThreat[threatID]
	if len(ids) == 0 {
		return nil
	}
	out := make([]Control, len(ids))
	for i, id := range ids {
		out[i] = c.controls[id].clone()
	}
	return out
}

// ClassesFor returns the classes holding at least one control that
// mitigates a threat, in framework order: one row of the threat x class
// table.
func (c *Catalogue) ClassesFor(threatID string) []framework.Class {
	var out []framework.Class
	for _, cl := range []framework.Class{framework.Communications, framework.Computing, framework.Control} {
		for _, id := range c.byThreat[threatID] {
			if id.Subclass().Class() == cl {
				out = append(out, cl)
				break
			}
		}
	}
	return out
}

// Reference looks a reference up by ID.
func (c *Catalogue) Reference(id string) (Reference, bool) {
	x, ok := c.references[id]
	if !ok {
		return Reference{}, false
	}
	return *x, true
}

// References returns every reference, sorted by ID.
func (c *Catalogue) References() []Reference {
	out := make([]Reference, len(c.referenceIDs))
	for i, id := range c.referenceIDs {
		out[i] = *c.references[id]
	}
	return out
}

// Notes lists the entries user files replaced, in load order.
func (c *Catalogue) Notes() []Note { return slices.Clone(c.notes) }

func (x *Control) clone() Control {
	y := *x
	y.Layers = slices.Clone(x.Layers)
	y.Mitigates = slices.Clone(x.Mitigates)
	y.Requirements = slices.Clone(x.Requirements)
	y.Services = slices.Clone(x.Services)
	y.References = slices.Clone(x.References)
	return y
}

func (x *Threat) clone() Threat {
	y := *x
	y.Requirements = slices.Clone(x.Requirements)
	y.References = slices.Clone(x.References)
	return y
}
