package report

import (
	"fmt"
	"math"
	"slices"

	"github.com/usapp/usapp/analysis/model"
	"github.com/usapp/usapp/framework"
)

// Weak reports whether a flow lacks authentication or end-to-end
// encryption: the flows the data-flow figure highlights.
func Weak(f model.Flow) bool {
	return !f.Protection.Authenticated || f.Protection.Encrypted != model.EndToEnd
}

// Flow figure geometry.
const (
	flowColW  = 250.0
	flowNodeW = 170.0
	flowNodeH = 40.0
	flowRowH  = 84.0
	flowTop   = 40.0
	flowLeft  = 20.0
)

// slot is a component's place in the flow figure.
type slot struct{ col, row int }

// layoutFlows places components in one column per domain. Trust boundaries
// are laid out one after another, in model order, each on rows no other
// boundary uses in the columns it spans, so their rectangles never overlap;
// components outside any boundary come last. Within a boundary components
// keep model order.
func layoutFlows(m *model.Model) (map[string]slot, map[string][2]slot) {
	fill := make([]int, len(framework.Domains))
	pos := map[string]slot{}
	box := map[string][2]slot{} // boundary id -> top-left slot, bottom-right slot
	groups := append([]string(nil), boundaryIDs(m)...)
	groups = append(groups, "")
	for _, g := range groups {
		members := map[int][]string{}
		lo, hi := len(fill), -1
		for _, cp := range m.Components {
			if !inGroup(m, cp, g) {
				continue
			}
			col := max(slices.Index(framework.Domains, cp.Domain), 0)
			members[col] = append(members[col], cp.ID)
			lo, hi = min(lo, col), max(hi, col)
		}
		if hi < 0 {
			continue
		}
		if g == "" { // no rectangle: just stack under what is there
			for col, ids := range members {
				for _, id := range ids {
					pos[id] = slot{col, fill[col]}
					fill[col]++
				}
			}
			continue
		}
		base, rows := 0, 0
		for col := lo; col <= hi; col++ {
			base, rows = max(base, fill[col]), max(rows, len(members[col]))
		}
		for col, ids := range members {
			for i, id := range ids {
				pos[id] = slot{col, base + i}
			}
		}
		for col := lo; col <= hi; col++ {
			fill[col] = base + rows
		}
		box[g] = [2]slot{{lo, base}, {hi, base + rows - 1}}
	}
	return pos, box
}

func boundaryIDs(m *model.Model) []string {
	ids := make([]string, len(m.TrustBoundaries))
	for i, b := range m.TrustBoundaries {
		ids[i] = b.ID
	}
	return ids
}

// inGroup reports whether a component belongs to a boundary group; a
// component naming an unknown boundary is drawn outside any.
func inGroup(m *model.Model, cp model.Component, g string) bool {
	if g == "" {
		return cp.TrustBoundary == "" || m.TrustBoundary(cp.TrustBoundary) == nil
	}
	return cp.TrustBoundary == g
}

func nodeXY(s slot) (x, y float64) {
	return flowLeft + float64(s.col)*flowColW + (flowColW-flowNodeW)/2, flowTop + float64(s.row)*flowRowH + 22
}

func centre(s slot) (x, y float64) {
	x, y = nodeXY(s)
	return x + flowNodeW/2, y + flowNodeH/2
}

// flowsSVG draws figure (b): the data-flow graph with trust boundaries.
func flowsSVG(m *model.Model) string {
	if m == nil || len(m.Components) == 0 {
		s := newSVG("flows", "Data flows and trust boundaries", 400, 40)
		s.text(10, 24, ``, "no model given")
		return s.String()
	}
	pos, box := layoutFlows(m)
	rows := 0
	for _, p := range pos {
		rows = max(rows, p.row+1)
	}
	width := flowLeft*2 + float64(len(framework.Domains))*flowColW
	height := flowTop + float64(rows)*flowRowH + 60
	s := newSVG("flows", "Data flows and trust boundaries", width, height)
	s.raw(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker>` +
		`<marker id="arrow-weak" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#c0392b"/></marker></defs>`)
	for j, d := range framework.Domains {
		x := flowLeft + float64(j)*flowColW
		s.text(x+flowColW/2, 20, `text-anchor="middle" font-weight="bold"`, string(d))
		if j > 0 {
			s.raw(`<line x1="%s" y1="28" x2="%s" y2="%s" stroke="#ddd"/>`, num(x), num(x), num(height-50))
		}
	}
	for _, b := range m.TrustBoundaries {
		if r, ok := box[b.ID]; ok {
			boundaryRect(s, b, r)
		}
	}
	// Flows between the same two components share a line: fan them out and
	// stagger their labels so each stays readable.
	pair := func(f model.Flow) [2]string {
		a, b := f.From, f.To
		if len(f.Via) > 0 {
			b = f.Via[0]
		}
		if a > b {
			a, b = b, a
		}
		return [2]string{a, b}
	}
	total, seen := map[[2]string]int{}, map[[2]string]int{}
	for _, f := range m.Flows {
		total[pair(f)]++
	}
	for _, f := range m.Flows {
		k := pair(f)
		flowArrow(s, m, pos, f, seen[k], total[k])
		seen[k]++
	}
	for _, cp := range m.Components {
		node(s, cp, pos[cp.ID])
	}
	flowLegend(s, height-22)
	return s.String()
}

func boundaryRect(s *svg, b model.TrustBoundary, r [2]slot) {
	x0, y0 := nodeXY(r[0])
	x1, y1 := nodeXY(r[1])
	x0, y0 = x0-14, y0-20
	x1, y1 = x1+flowNodeW+14, y1+flowNodeH+10
	s.tip(fmt.Sprintf("trust boundary %s (%s)", b.ID, b.Kind))
	s.rect(x0, y0, x1-x0, y1-y0, `rx="12" class="boundary"`)
	label := b.Name
	if label == "" {
		label = b.ID
	}
	s.text(x0+8, y0+13, `font-size="11" font-style="italic" fill="#2c5d8a"`, clip(label, 40))
	s.end()
}

func node(s *svg, cp model.Component, p slot) {
	x, y := nodeXY(p)
	name := cp.Name
	if name == "" {
		name = cp.ID
	}
	s.tip(fmt.Sprintf("%s: %s (%s, %s, %s)", cp.ID, name, cp.Type, cp.Category, cp.Layer))
	s.rect(x, y, flowNodeW, flowNodeH, `rx="4" class="node"`)
	s.text(x+flowNodeW/2, y+16, `text-anchor="middle" font-weight="bold"`, clip(cp.ID, 26))
	s.text(x+flowNodeW/2, y+31, `text-anchor="middle" font-size="10" fill="#555"`, clip(name, 30))
	s.end()
}

// flowArrow draws a flow as a polyline From → Via… → To, cut at the node
// borders so arrowheads stay visible.
// flowArrow draws flow f as the k-th of n flows sharing its first segment.
func flowArrow(s *svg, m *model.Model, pos map[string]slot, f model.Flow, k, n int) {
	hops := append(append([]string{f.From}, f.Via...), f.To)
	var pts [][2]float64
	for _, h := range hops {
		p, ok := pos[h]
		if !ok {
			return // a model that validated always places both ends
		}
		x, y := centre(p)
		pts = append(pts, [2]float64{x, y})
	}
	if len(pts) < 2 || pts[0] == pts[len(pts)-1] && len(pts) == 2 {
		return
	}
	pts[0] = border(pts[0], pts[1])
	last := len(pts) - 1
	pts[last] = border(pts[last], pts[last-1])
	// Perpendicular offset of the k-th parallel flow, centred on the line.
	dx, dy := pts[1][0]-pts[0][0], pts[1][1]-pts[0][1]
	if l := math.Hypot(dx, dy); l > 0 {
		off := (float64(k) - float64(n-1)/2) * 7
		for i := range pts {
			pts[i][0] += -dy / l * off
			pts[i][1] += dx / l * off
		}
	}
	class, marker := "flow", "arrow"
	if Weak(f) {
		class, marker = "flow weak", "arrow-weak"
	}
	s.tip(flowTip(f))
	d := ""
	for i, p := range pts {
		op := "L"
		if i == 0 {
			op = "M"
		}
		d += fmt.Sprintf("%s%s,%s ", op, num(p[0]), num(p[1]))
	}
	s.raw(`<path d="%s" class="%s" fill="none" marker-end="url(#%s)"/>`, d[:len(d)-1], class, marker)
	t := 0.5
	if n > 1 {
		t = 0.25 + 0.5*float64(k)/float64(n-1) // spread labels along the shared line
	}
	mx, my := pts[0][0]+(pts[1][0]-pts[0][0])*t, pts[0][1]+(pts[1][1]-pts[0][1])*t
	s.text(mx, my-3, `font-size="10" text-anchor="middle" class="flowlabel" paint-order="stroke" stroke="#fff" stroke-width="3"`, clip(f.ID, 28))
	s.end()
}

func flowTip(f model.Flow) string {
	p := f.Protection
	t := fmt.Sprintf("%s: %s → %s; authenticated %t, encryption %s, integrity %t, replay protected %t", f.ID, f.From, f.To, p.Authenticated, p.Encrypted, p.Integrity, p.ReplayProtected)
	if Weak(f) {
		t += " (weak)"
	}
	return t
}

// border moves a node centre to where the segment towards next leaves the
// node's rectangle.
func border(c, next [2]float64) [2]float64 {
	dx, dy := next[0]-c[0], next[1]-c[1]
	if dx == 0 && dy == 0 {
		return c
	}
	t := math.Inf(1)
	if dx != 0 {
		t = (flowNodeW / 2) / math.Abs(dx)
	}
	if dy != 0 {
		t = min(t, (flowNodeH/2)/math.Abs(dy))
	}
	t = min(t, 1)
	return [2]float64{c[0] + dx*t, c[1] + dy*t}
}

func flowLegend(s *svg, y float64) {
	s.raw(`<path d="M10,%s L60,%s" class="flow" marker-end="url(#arrow)"/>`, num(y), num(y))
	s.text(68, y+4, ``, "authenticated and end-to-end encrypted")
	s.raw(`<path d="M330,%s L380,%s" class="flow weak" marker-end="url(#arrow-weak)"/>`, num(y), num(y))
	s.text(388, y+4, ``, "weak: not authenticated or not end-to-end encrypted")
	s.rect(740, y-9, 40, 18, `rx="8" class="boundary"`)
	s.text(786, y+4, ``, "trust boundary")
}
