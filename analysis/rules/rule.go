package rules

import (
	"slices"
	"time"

	"github.com/usapp/usapp/analysis/model"
)

// Hit is one threat a rule found on one model element.
type Hit struct {
	Threat  string // catalogue threat id
	Element string // component or flow id
	Reason  string // why, in words, for the report
}

// Rule is one check of the method.
type Rule interface {
	ID() string
	Describe() string
	// Threats lists every catalogue threat id Check can raise.
	Threats() []string
	// Check reads the model and returns its hits, in model order.
	Check(m *model.Model) []Hit
}

// All returns every rule, sorted by ID. The list is explicit on purpose:
// a reviewer sees the whole rule set in one place.
func All() []Rule {
	return []Rule{
		attributableLocation{},
		detectableHighFrequency{},
		hopOnlyEncryption{},
		keyStorage{},
		noAccountability{},
		personalDataLeavesHome{},
		replayableSignal{},
		singlePartyCommand{},
		unauthenticatedControlSignal{},
		unauthenticatedNetworkState{},
		unauthenticatedPriceSignal{},
		unauthenticatedReading{},
		unauthenticatedUpdate{},
	}
}

// ByID returns the registered rule with the given id.
func ByID(id string) (Rule, bool) {
	for _, r := range All() {
		if r.ID() == id {
			return r, true
		}
	}
	return nil, false
}

// highFrequency is the period at or below which readings reveal activities
// (appliance use, presence): one minute, as in the NIST/NISTIR 7628 vol. 2
// privacy discussion of load monitoring.
const highFrequency = model.Duration(time.Minute)

func carries(f *model.Flow, kinds ...model.DataKind) bool {
	return slices.ContainsFunc(f.Data, func(d model.Datum) bool { return slices.Contains(kinds, d.Kind) })
}

// tamperProof reports whether a receiver can tell forged or altered
// content from genuine: origin authentication plus integrity.
func tamperProof(p model.Protection) bool { return p.Authenticated && p.Integrity }

func owner(m *model.Model, component string) string {
	if c := m.Component(component); c != nil {
		return c.Owner
	}
	return ""
}

func boundaryKind(m *model.Model, component string) model.BoundaryKind {
	c := m.Component(component)
	if c == nil || c.TrustBoundary == "" {
		return ""
	}
	if b := m.TrustBoundary(c.TrustBoundary); b != nil {
		return b.Kind
	}
	return ""
}

func boundary(m *model.Model, component string) string {
	if c := m.Component(component); c != nil {
		return c.TrustBoundary
	}
	return ""
}

// consented reports whether one of the flow's data subjects (Model.Subjects)
// agreed that the receiver gets it.
func consented(m *model.Model, f *model.Flow) bool {
	subjects := m.Subjects(f)
	return slices.ContainsFunc(f.Consent, func(s string) bool { return slices.Contains(subjects, s) })
}

// flowHits runs check over every flow and collects one hit per threat it
// names.
func flowHits(m *model.Model, check func(f *model.Flow) (threats []string, reason string)) []Hit {
	var out []Hit
	for i := range m.Flows {
		f := &m.Flows[i]
		threats, reason := check(f)
		for _, t := range threats {
			out = append(out, Hit{Threat: t, Element: f.ID, Reason: reason})
		}
	}
	return out
}
