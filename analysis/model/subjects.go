package model

import "slices"

// Subjects are the stakeholders a flow's data is about: the owner of the
// sending component and, when it sits in a home or vehicle trust boundary,
// every owner of a component there. A utility-owned meter in a home
// measures the household, so the household is a subject of its readings.
// The list is in model order, without repeats.
func (m *Model) Subjects(f *Flow) []string {
	src := m.Component(f.From)
	if src == nil {
		return nil
	}
	out := []string{src.Owner}
	if b := m.TrustBoundary(src.TrustBoundary); b == nil || !b.Kind.Private() {
		return out
	}
	for _, c := range m.Components {
		if c.TrustBoundary == src.TrustBoundary && !slices.Contains(out, c.Owner) {
			out = append(out, c.Owner)
		}
	}
	return out
}

// Onlookers are the stakeholders who can read a flow's data on its way
// although it is neither theirs nor meant for them: the owners of its
// intermediaries, unless the flow is encrypted end to end, other than the
// sender's and receiver's owners and the data's subjects (a household's
// own gateway relaying its meter's readings discloses nothing). The list is
// in path order, without repeats.
func (m *Model) Onlookers(f *Flow) []string { return m.onlookers(f, m.Subjects(f)) }

// onlookers is Onlookers given the flow's subjects.
func (m *Model) onlookers(f *Flow, subjects []string) []string {
	if f.Protection.Encrypted == EndToEnd {
		return nil
	}
	known := slices.Clip(subjects) // appending must not write into the caller's array
	if c := m.Component(f.To); c != nil {
		known = append(known, c.Owner)
	}
	var out []string
	for _, v := range f.Via {
		if c := m.Component(v); c != nil && !slices.Contains(known, c.Owner) && !slices.Contains(out, c.Owner) {
			out = append(out, c.Owner)
		}
	}
	return out
}

// Trust is how far stakeholder from trusts stakeholder to with its data
// (Stakeholder.Trusts): 1 for itself, 0 for a party it does not list or
// for a stakeholder the model does not declare.
func (m *Model) Trust(from, to string) float64 {
	if from == to {
		return 1
	}
	if s := m.Stakeholder(from); s != nil {
		return s.Trusts[to]
	}
	return 0
}

// Distrust is how far the flow's least trusted onlooker is distrusted by
// any of its subjects: the largest 1 − Trust(subject, onlooker), 0 when the
// flow has no onlooker.
func (m *Model) Distrust(f *Flow) float64 {
	d := 0.0
	subjects := m.Subjects(f)
	for _, o := range m.onlookers(f, subjects) {
		for _, s := range subjects {
			d = max(d, 1-m.Trust(s, o))
		}
	}
	return d
}
