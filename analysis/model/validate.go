package model

import (
	"fmt"
	"regexp"
)

// idPattern keeps IDs short and printable, so finding IDs built from them
// stay stable and safe in file names, URLs and reports.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// declared is where an ID was first declared, for duplicate and reference checks.
type declared struct {
	kind string // "component", "flow", ...
	pos  Pos
}

// validate checks what a single file cannot: references, uniqueness and
// ranges across the merged model. It runs only when every file parsed.
func (l *loader) validate() {
	m := &l.m
	if m.Meta.Name == "" {
		l.errs.add(&Error{File: l.root, Line: l.line(Pos{File: l.root, Line: 1}, "model"), Path: "model.name", Msg: "the root model needs a name", Err: ErrMissing})
	}
	ids := map[string]declared{}
	declare := func(kind, id string, pos Pos) {
		if id == "" {
			return // reported as missing by the decoder
		}
		if !idPattern.MatchString(id) {
			l.fieldErr(pos, "id", ErrInvalid, "id %q: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", id)
		}
		if first, dup := ids[id]; dup {
			l.fieldErr(pos, "id", ErrDuplicate, "duplicate id %q: already declared as %s at %s:%d (%s)", id, first.kind, first.pos.File, first.pos.Line, first.pos.Path)
			return
		}
		ids[id] = declared{kind, pos}
	}
	for _, s := range m.Stakeholders {
		declare("stakeholder", s.ID, s.Pos)
	}
	for _, b := range m.TrustBoundaries {
		declare("trust boundary", b.ID, b.Pos)
	}
	for _, c := range m.Components {
		declare("component", c.ID, c.Pos)
	}
	for _, f := range m.Flows {
		declare("flow", f.ID, f.Pos)
	}
	for _, u := range m.UseCases {
		declare("use case", u.ID, u.Pos)
	}
	r := refs{l: l, ids: ids}
	for _, s := range m.Stakeholders {
		l.checkStakeholder(r, s)
	}
	for _, c := range m.Components {
		r.want(c.Pos, "owner", c.Owner, "stakeholder")
		r.want(c.Pos, "trust_boundary", c.TrustBoundary, "trust boundary")
	}
	for _, f := range m.Flows {
		l.checkFlow(r, f)
	}
	for _, u := range m.UseCases {
		r.wantAll(u.Pos, "stakeholders", u.Stakeholders, "stakeholder")
		r.wantAll(u.Pos, "flows", u.Flows, "flow")
	}
	for _, q := range m.Requirements {
		r.want(q.Pos, "at", q.At, "component", "flow")
	}
	l.checkControls(r)
	l.checkNotApplicable()
}

func (l *loader) checkStakeholder(r refs, s Stakeholder) {
	for other, v := range s.Trusts {
		at := "trusts." + other
		if _, ok := r.ids[other]; !ok || r.ids[other].kind != "stakeholder" {
			l.fieldErr(s.Pos, at, ErrDangling, "unknown stakeholder %q", other)
		}
		if v < 0 || v > 1 {
			l.fieldErr(s.Pos, at, ErrInvalid, "trust must lie between 0 and 1, got %g", v)
		}
	}
}

func (l *loader) checkFlow(r refs, f Flow) {
	r.want(f.Pos, "from", f.From, "component")
	r.want(f.Pos, "to", f.To, "component")
	if f.From != "" && f.From == f.To {
		l.fieldErr(f.Pos, "to", ErrInvalid, "a flow must join two different components")
	}
	seen := map[string]bool{}
	r.wantAll(f.Pos, "via", f.Via, "component")
	for i, v := range f.Via {
		at := fmt.Sprintf("via[%d]", i)
		if v == f.From || v == f.To || seen[v] {
			l.fieldErr(f.Pos, at, ErrInvalid, "intermediary %q repeats an endpoint or an earlier intermediary", v)
		}
		seen[v] = true
	}
	r.wantAll(f.Pos, "consent", f.Consent, "stakeholder")
	if len(f.Data) == 0 {
		l.fieldErr(f.Pos, "data", ErrMissing, "a flow carries at least one datum")
	}
	if k := f.Protection.AggregatedMinK; k < 0 || k == 1 {
		l.fieldErr(f.Pos, "protection.aggregated_min_k", ErrInvalid, "aggregated_min_k is 0 (not aggregated) or at least 2, got %d", k)
	}
}

func (l *loader) checkControls(r refs) {
	type placed struct{ id, at string }
	seen := map[placed]Pos{}
	for _, c := range l.m.Controls {
		r.want(c.Pos, "at", c.At, "component", "flow")
		k := placed{string(c.ID), c.At}
		if first, dup := seen[k]; dup && c.ID != "" && c.At != "" {
			l.fieldErr(c.Pos, "id", ErrDuplicate, "control %q already deployed at %q by %s:%d", c.ID, c.At, first.File, first.Line)
			continue
		}
		seen[k] = c.Pos
	}
}

func (l *loader) checkNotApplicable() {
	seen := map[string]Pos{}
	for _, n := range l.m.NotApplicable {
		if first, dup := seen[n.Finding]; dup && n.Finding != "" {
			l.fieldErr(n.Pos, "finding", ErrDuplicate, "finding %q already marked at %s:%d", n.Finding, first.File, first.Line)
			continue
		}
		seen[n.Finding] = n.Pos
	}
}

// refs resolves references against the declared IDs.
type refs struct {
	l   *loader
	ids map[string]declared
}

// want checks that id, when given, names an element of one of the kinds.
func (r refs) want(pos Pos, field, id string, kinds ...string) {
	if id == "" {
		return
	}
	d, ok := r.ids[id]
	if ok {
		for _, k := range kinds {
			if d.kind == k {
				return
			}
		}
		r.l.fieldErr(pos, field, ErrDangling, "%q is a %s, want a %s", id, d.kind, orList(kinds))
		return
	}
	r.l.fieldErr(pos, field, ErrDangling, "unknown %s %q", orList(kinds), id)
}

func (r refs) wantAll(pos Pos, field string, ids []string, kind string) {
	for i, id := range ids {
		at := fmt.Sprintf("%s[%d]", field, i)
		if id == "" {
			r.l.fieldErr(pos, at, ErrMissing, "empty %s reference", kind)
			continue
		}
		r.want(pos, at, id, kind)
	}
}

func orList(kinds []string) string {
	if len(kinds) == 2 {
		return kinds[0] + " or " + kinds[1]
	}
	return kinds[0]
}

// line finds the line of a field of an element, falling back to the element.
func (l *loader) line(pos Pos, field string) int {
	if n, ok := l.lines[pos.File][join(pos.Path, field)]; ok {
		return n
	}
	return pos.Line
}

func (l *loader) fieldErr(pos Pos, field string, cause error, format string, args ...any) {
	l.errs.add(&Error{File: pos.File, Line: l.line(pos, field), Path: join(pos.Path, field), Msg: fmt.Sprintf(format, args...), Err: cause})
}
