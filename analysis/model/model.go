package model

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"

	"github.com/usapp/usapp/framework"
)

// Model is a loaded, validated system model: every file of an include tree
// merged into one. Field tags give the YAML keys (and the same JSON keys);
// a `model:"required"` tag marks a key the loader insists on.
//
// Lookups (Component, Flow, FlowsFrom, ...) use an index that Load, LoadFS
// and Parse build. A Model assembled in Go code works without it (lookups then
// scan the lists); call Reindex after building or editing one to make them
// constant-time again. A Model is safe for concurrent reads; Reindex is a write.
type Model struct {
	Meta            Meta            `yaml:"model" json:"model"`
	Stakeholders    []Stakeholder   `yaml:"stakeholders" json:"stakeholders,omitempty"`
	UseCases        []UseCase       `yaml:"use_cases" json:"use_cases,omitempty"`
	Components      []Component     `yaml:"components" json:"components,omitempty"`
	TrustBoundaries []TrustBoundary `yaml:"trust_boundaries" json:"trust_boundaries,omitempty"`
	Flows           []Flow          `yaml:"flows" json:"flows,omitempty"`
	Requirements    []RequirementAt `yaml:"requirements" json:"requirements,omitempty"`
	Controls        []Control       `yaml:"controls" json:"controls,omitempty"`
	NotApplicable   []NotApplicable `yaml:"not_applicable" json:"not_applicable,omitempty"`

	// Files lists every file read, root first, in the order their elements
	// were merged. Empty for Parse.
	Files []string `yaml:"-" json:"-"`

	idx *index
}

// Meta names the model. In an included file only Includes has an effect; the
// root file's name, description and version are the model's.
type Meta struct {
	Name        string   `yaml:"name" json:"name"`
	Description string   `yaml:"description" json:"description,omitempty"`
	Version     string   `yaml:"version" json:"version,omitempty"`
	Includes    []string `yaml:"includes" json:"-"`
}

// Pos is where an element was declared: its file, the line of its first key
// and its path inside that file ("components[3]").
type Pos struct {
	File string
	Line int
	Path string
}

// Stakeholder is a party with goals and with trust in other parties.
type Stakeholder struct {
	ID    string   `yaml:"id" json:"id" model:"required"`
	Name  string   `yaml:"name" json:"name,omitempty"`
	Goals []string `yaml:"goals" json:"goals,omitempty"`
	// Trusts says how far this stakeholder trusts another with its data,
	// from 0 (not at all) to 1 (fully). A party not listed is trusted 0.
	// The analysis reads it as the likelihood that an onlooker of a flow
	// (an intermediary's owner who can read the data) misuses it
	// (Model.Distrust, and the risk score of the privacy threats).
	Trusts map[string]float64 `yaml:"trusts" json:"trusts,omitempty"`
	Pos    Pos                `yaml:"-" json:"-"`
}

// UseCase is a function the system serves, with the requirements it needs
// and the flows that realise it.
type UseCase struct {
	ID           string                  `yaml:"id" json:"id" model:"required"`
	Name         string                  `yaml:"name" json:"name,omitempty"`
	Description  string                  `yaml:"description" json:"description,omitempty"`
	Stakeholders []string                `yaml:"stakeholders" json:"stakeholders,omitempty"`
	Requirements []framework.Requirement `yaml:"requirements" json:"requirements,omitempty"`
	Flows        []string                `yaml:"flows" json:"flows,omitempty"`
	Pos          Pos                     `yaml:"-" json:"-"`
}

// Component is a device or system, placed in the method's grid.
type Component struct {
	ID            string             `yaml:"id" json:"id" model:"required"`
	Name          string             `yaml:"name" json:"name,omitempty"`
	Description   string             `yaml:"description" json:"description,omitempty"`
	Type          ComponentType      `yaml:"type" json:"type" model:"required"`
	Owner         string             `yaml:"owner" json:"owner" model:"required"` // a stakeholder ID
	Domain        framework.Domain   `yaml:"domain" json:"domain" model:"required"`
	Category      framework.Category `yaml:"category" json:"category" model:"required"`
	Layer         framework.Layer    `yaml:"layer" json:"layer" model:"required"`
	TrustBoundary string             `yaml:"trust_boundary" json:"trust_boundary,omitempty"` // a trust boundary ID
	Pos           Pos                `yaml:"-" json:"-"`
}

// TrustBoundary encloses components that trust each other more than they
// trust anything outside.
type TrustBoundary struct {
	ID   string       `yaml:"id" json:"id" model:"required"`
	Name string       `yaml:"name" json:"name,omitempty"`
	Kind BoundaryKind `yaml:"kind" json:"kind" model:"required"`
	Pos  Pos          `yaml:"-" json:"-"`
}

// Flow is data moving from one component to another, possibly through
// intermediaries.
type Flow struct {
	ID          string     `yaml:"id" json:"id" model:"required"`
	Description string     `yaml:"description" json:"description,omitempty"`
	From        string     `yaml:"from" json:"from" model:"required"` // a component ID
	To          string     `yaml:"to" json:"to" model:"required"`     // a component ID
	Data        []Datum    `yaml:"data" json:"data" model:"required"`
	Protection  Protection `yaml:"protection" json:"protection"`
	// Via lists the intermediaries the data crosses, in order from From to To.
	Via []string `yaml:"via" json:"via,omitempty"`
	// Consent lists the stakeholders who agreed that To receives this data.
	Consent []string `yaml:"consent" json:"consent,omitempty"`
	Pos     Pos      `yaml:"-" json:"-"`
}

// Datum is one kind of data a flow carries.
type Datum struct {
	Category framework.DataCategory `yaml:"category" json:"category" model:"required"`
	Kind     DataKind               `yaml:"kind" json:"kind" model:"required"`
	// Frequency is the period between two items; zero means event-driven.
	Frequency Duration `yaml:"frequency" json:"frequency,omitempty"`
	// Attributable says whether an item can be tied to a person or household.
	Attributable bool `yaml:"attributable" json:"attributable"`
}

// Protection is what a flow's transport and format guarantee. Every field's
// zero value is the unprotected case, so an omitted key never claims a
// protection that is not there.
type Protection struct {
	Authenticated   bool       `yaml:"authenticated" json:"authenticated"`
	Encrypted       Encryption `yaml:"encrypted" json:"encrypted"` // "none" when omitted
	Integrity       bool       `yaml:"integrity" json:"integrity"`
	ReplayProtected bool       `yaml:"replay_protected" json:"replay_protected"`
	Anonymised      bool       `yaml:"anonymised" json:"anonymised"`
	// AggregatedMinK is the least number of households whose data is
	// combined before it leaves; 0 means not aggregated.
	AggregatedMinK int `yaml:"aggregated_min_k" json:"aggregated_min_k"`
}

// RequirementAt states that a component or flow needs a requirement,
// beyond what its use cases imply.
type RequirementAt struct {
	Requirement framework.Requirement `yaml:"requirement" json:"requirement" model:"required"`
	At          string                `yaml:"at" json:"at" model:"required"` // a component or flow ID
	Rationale   string                `yaml:"rationale" json:"rationale,omitempty"`
	Pos         Pos                   `yaml:"-" json:"-"`
}

// Control is a control already deployed at a component or flow. Only the
// form of the ID is checked here; whether the catalogue knows it is the
// analysis engine's question.
type Control struct {
	ID     framework.ControlID `yaml:"id" json:"id" model:"required"`
	At     string              `yaml:"at" json:"at" model:"required"` // a component or flow ID
	Params map[string]string   `yaml:"params" json:"params,omitempty"`
	Pos    Pos                 `yaml:"-" json:"-"`
}

// NotApplicable marks a finding of the analysis as not applicable, with the
// reason; this is separate from a finding being mitigated by a control.
type NotApplicable struct {
	Finding string `yaml:"finding" json:"finding" model:"required"`
	Reason  string `yaml:"reason" json:"reason" model:"required"`
	Pos     Pos    `yaml:"-" json:"-"`
}

type index struct {
	components   map[string]int
	flows        map[string]int
	stakeholders map[string]int
	boundaries   map[string]int
	useCases     map[string]int
	from, to     map[string][]int
}

// Reindex rebuilds the lookup index after the lists were built or changed.
// With duplicate IDs the first declaration wins.
func (m *Model) Reindex() {
	ix := &index{
		components:   firstIndex(m.Components, func(c Component) string { return c.ID }),
		flows:        firstIndex(m.Flows, func(f Flow) string { return f.ID }),
		stakeholders: firstIndex(m.Stakeholders, func(s Stakeholder) string { return s.ID }),
		boundaries:   firstIndex(m.TrustBoundaries, func(b TrustBoundary) string { return b.ID }),
		useCases:     firstIndex(m.UseCases, func(u UseCase) string { return u.ID }),
		from:         map[string][]int{},
		to:           map[string][]int{},
	}
	for i, f := range m.Flows {
		ix.from[f.From] = append(ix.from[f.From], i)
		ix.to[f.To] = append(ix.to[f.To], i)
	}
	m.idx = ix
}

func firstIndex[T any](list []T, id func(T) string) map[string]int {
	out := make(map[string]int, len(list))
	for i, v := range list {
		if _, dup := out[id(v)]; !dup {
			out[id(v)] = i
		}
	}
	return out
}

// lookup finds an element by ID through the index when there is one.
func lookup[T any](list []T, ix map[string]int, haveIndex bool, id string, key func(*T) string) *T {
	if haveIndex {
		if i, ok := ix[id]; ok {
			return &list[i]
		}
		return nil
	}
	for i := range list {
		if key(&list[i]) == id {
			return &list[i]
		}
	}
	return nil
}

func (m *Model) ix() (*index, bool) { return m.idx, m.idx != nil }

// Component returns the component with the given ID, or nil.
func (m *Model) Component(id string) *Component {
	ix, ok := m.ix()
	var mp map[string]int
	if ok {
		mp = ix.components
	}
	return lookup(m.Components, mp, ok, id, func(c *Component) string { return c.ID })
}

// Flow returns the flow with the given ID, or nil.
func (m *Model) Flow(id string) *Flow {
	ix, ok := m.ix()
	var mp map[string]int
	if ok {
		mp = ix.flows
	}
	return lookup(m.Flows, mp, ok, id, func(f *Flow) string { return f.ID })
}

// Stakeholder returns the stakeholder with the given ID, or nil.
func (m *Model) Stakeholder(id string) *Stakeholder {
	ix, ok := m.ix()
	var mp map[string]int
	if ok {
		mp = ix.stakeholders
	}
	return lookup(m.Stakeholders, mp, ok, id, func(s *Stakeholder) string { return s.ID })
}

// TrustBoundary returns the trust boundary with the given ID, or nil.
func (m *Model) TrustBoundary(id string) *TrustBoundary {
	ix, ok := m.ix()
	var mp map[string]int
	if ok {
		mp = ix.boundaries
	}
	return lookup(m.TrustBoundaries, mp, ok, id, func(b *TrustBoundary) string { return b.ID })
}

// UseCase returns the use case with the given ID, or nil.
func (m *Model) UseCase(id string) *UseCase {
	ix, ok := m.ix()
	var mp map[string]int
	if ok {
		mp = ix.useCases
	}
	return lookup(m.UseCases, mp, ok, id, func(u *UseCase) string { return u.ID })
}

// FlowsFrom returns the flows whose From is the component, in model order.
func (m *Model) FlowsFrom(id string) []*Flow {
	return m.flowsBy(id, func(ix *index) map[string][]int { return ix.from }, func(f *Flow) string { return f.From })
}

// FlowsTo returns the flows whose To is the component, in model order.
func (m *Model) FlowsTo(id string) []*Flow {
	return m.flowsBy(id, func(ix *index) map[string][]int { return ix.to }, func(f *Flow) string { return f.To })
}

func (m *Model) flowsBy(id string, pick func(*index) map[string][]int, end func(*Flow) string) []*Flow {
	var out []*Flow
	if ix, ok := m.ix(); ok {
		for _, i := range pick(ix)[id] {
			out = append(out, &m.Flows[i])
		}
		return out
	}
	for i := range m.Flows {
		if end(&m.Flows[i]) == id {
			out = append(out, &m.Flows[i])
		}
	}
	return out
}

// Hash is a SHA-256 digest (lowercase hex) of the model's content. It ignores
// how the model is split into files, declaration order of the top-level lists
// and of the ID sets inside elements (use-case members, consent), and source
// positions; it changes when anything else changes. Via stays ordered: it is
// a path.
func (m *Model) Hash() string {
	c := struct {
		Schema int `json:"schema"` // bump when the hashed form changes
		*Model
	}{Schema: 1, Model: m.canonical()}
	b, err := json.Marshal(c)
	if err != nil {
		// Every field is a string, number, bool, slice or string-keyed map;
		// NaN trust values are rejected by the loader. Hand-built models with
		// NaN still get a digest, just a less informative one.
		b = []byte(err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// canonical returns a deep-enough copy with every set-like list sorted.
func (m *Model) canonical() *Model {
	c := &Model{Meta: m.Meta}
	c.Meta.Includes = nil
	c.Stakeholders = sortedBy(m.Stakeholders, func(s Stakeholder) string { return s.ID })
	c.UseCases = sortedBy(m.UseCases, func(u UseCase) string { return u.ID })
	for i := range c.UseCases {
		u := &c.UseCases[i]
		u.Stakeholders, u.Requirements, u.Flows = sorted(u.Stakeholders), sorted(u.Requirements), sorted(u.Flows)
	}
	c.Components = sortedBy(m.Components, func(x Component) string { return x.ID })
	c.TrustBoundaries = sortedBy(m.TrustBoundaries, func(b TrustBoundary) string { return b.ID })
	c.Flows = sortedBy(m.Flows, func(f Flow) string { return f.ID })
	for i := range c.Flows {
		f := &c.Flows[i]
		f.Consent = sorted(f.Consent)
		if f.Protection.Encrypted == "" {
			f.Protection.Encrypted = NoEnc
		}
	}
	c.Requirements = slices.Clone(m.Requirements)
	slices.SortFunc(c.Requirements, func(a, b RequirementAt) int {
		return cmp.Or(cmp.Compare(a.At, b.At), cmp.Compare(a.Requirement, b.Requirement), cmp.Compare(a.Rationale, b.Rationale))
	})
	c.Controls = slices.Clone(m.Controls)
	slices.SortFunc(c.Controls, func(a, b Control) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.At, b.At))
	})
	c.NotApplicable = sortedBy(m.NotApplicable, func(n NotApplicable) string { return n.Finding })
	return c
}

func sortedBy[T any](list []T, key func(T) string) []T {
	out := slices.Clone(list)
	slices.SortStableFunc(out, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
	return out
}

func sorted[T cmp.Ordered](list []T) []T {
	out := slices.Clone(list)
	slices.Sort(out)
	return out
}
