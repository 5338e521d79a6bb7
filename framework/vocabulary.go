package framework

import (
	"fmt"
	"slices"
)

// The analysis method's dimensions (USAPP.md section 4). Each is a small
// closed vocabulary; Valid reports membership and the lists give the order in
// which reports show them.

// Domain is where a component sits in the smart grid.
type Domain string

// The four domains.
const (
	House        Domain = "house"
	DEREV        Domain = "der-ev"
	Distribution Domain = "distribution"
	Retail       Domain = "retail"
)

// Domains lists the domains in report order.
var Domains = []Domain{House, DEREV, Distribution, Retail}

// Category says whether an element is the hardware or the entities that may
// access and act on it, wherever they are.
type Category string

// The two categories.
const (
	Physical Category = "physical"
	Cyber    Category = "cyber"
)

// Categories lists the categories in report order.
var Categories = []Category{Physical, Cyber}

// Layer is an SGAM-like interoperability layer a control is placed in.
type Layer string

// The five layers, from organisation down to platform.
const (
	Business    Layer = "business"
	Function    Layer = "function"
	Information Layer = "information"
	Network     Layer = "network"
	Component   Layer = "component"
)

// Layers lists the layers from top to bottom.
var Layers = []Layer{Business, Function, Information, Network, Component}

// Requirement is a security or privacy property a use case needs.
type Requirement string

// The seven requirements.
const (
	Integrity       Requirement = "integrity"
	Confidentiality Requirement = "confidentiality"
	Authentication  Requirement = "authentication"
	Accountability  Requirement = "accountability"
	Availability    Requirement = "availability"
	Anonymity       Requirement = "anonymity"
	Undetectability Requirement = "undetectability"
)

// Requirements lists the requirements in report order.
var Requirements = []Requirement{Integrity, Confidentiality, Authentication, Accountability, Availability, Anonymity, Undetectability}

// DataCategory is a sphere of control (C2): what a datum reveals decides who
// may have it.
type DataCategory string

// The three spheres.
const (
	CustomerData  DataCategory = "customer"  // low frequency, attributable: billing
	TechnicalData DataCategory = "technical" // high frequency: DR/DSM, network operation
	PersonalData  DataCategory = "personal"  // finest resolution, per appliance: the owner's only
)

// DataCategories lists the spheres from coarsest to finest.
var DataCategories = []DataCategory{CustomerData, TechnicalData, PersonalData}

// Valid reports whether d is one of the four domains.
func (d Domain) Valid() bool { return slices.Contains(Domains, d) }

// Valid reports whether c is physical or cyber.
func (c Category) Valid() bool { return slices.Contains(Categories, c) }

// Valid reports whether l is one of the five layers.
func (l Layer) Valid() bool { return slices.Contains(Layers, l) }

// Valid reports whether r is one of the seven requirements.
func (r Requirement) Valid() bool { return slices.Contains(Requirements, r) }

// Valid reports whether d is one of the three spheres.
func (d DataCategory) Valid() bool { return slices.Contains(DataCategories, d) }

// UnknownError names a value outside a vocabulary and lists the valid ones,
// for loaders to report with file and line.
type UnknownError struct {
	Kind  string // "domain", "layer", ...
	Value string
	Valid []string
}

func (e *UnknownError) Error() string {
	return fmt.Sprintf("unknown %s %q; valid: %v", e.Kind, e.Value, e.Valid)
}

// Parse checks a value against a vocabulary list and returns an
// *UnknownError naming the valid values when it is not in it.
func Parse[T ~string](kind, value string, valid []T) (T, error) {
	if slices.Contains(valid, T(value)) {
		return T(value), nil
	}
	names := make([]string, len(valid))
	for i, v := range valid {
		names[i] = string(v)
	}
	return "", &UnknownError{Kind: kind, Value: value, Valid: names}
}
