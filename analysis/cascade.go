package analysis

import (
	"cmp"
	"slices"

	"github.com/usapp/usapp/analysis/catalogue"
	"github.com/usapp/usapp/analysis/model"
	"github.com/usapp/usapp/framework"
)

// Cascaded risk (the B2.cascaded-risk-evaluation idea of the framework):
// compromise spreads along flows. A compromised sender can feed false data or
// commands to its receiver, and an intermediary can do the same when the flow
// is not authenticated with integrity; what the receiver then does it does
// with the attacker's input, so reach is transitive. Each component's entry
// lists every component reachable that way and a score
//
//	score = Σ_{r ∈ reach} w(r) / d(r)
//
// where d is the hop distance and w is 2 when r is reached through a command
// relation (a command, control signal, firmware or key update: the receiver
// obeys rather than merely believes) and 1 otherwise. Distance damping ranks
// hubs that directly command many devices above components that reach the
// same set only through long chains.
//
// Compromise also spreads along trust relations: components inside one trust
// boundary (a home network, a utility data centre) do not defend against each
// other, so a captured one reaches the others of its boundary in one hop,
// whatever flows the model lists between them. That reach counts with weight
// 0.5, below a flow's, and stops there: a component exposed only laterally is
// not assumed captured in turn (the conservative reading; a flat network
// where it would be is a finding for segmentation, not for this ranking).

const (
	commandWeight = 2.0
	trustWeight   = 0.5 // lateral movement: reach, but not obedience to a source the receiver believes
)

// cutServices are services that limit what a compromised but legitimate
// sender can make a receiver do. Controls that authenticate the origin are
// left out even when they also check integrity: the attacker then holds the
// sender's keys, so signatures verify.
var cutServices = []string{"multi-party-approval", "authorise-command", "bound-commands", "detect-anomaly", "verify-software", "verify-integrity"}

// obeyedThreats maps what a flow carries to the threat a lying sender poses.
var obeyedThreats = map[model.DataKind]string{
	model.ControlSignal: "EV.false-control-signal",
	model.PriceSignal:   "EV.false-price-signal",
	model.NetworkState:  "EV.false-network-state-signal",
	model.Command:       "NESCOR.AMI-01",
	model.Firmware:      "NESCOR.AMI-03",
	model.KeyUpdate:     "NESCOR.AMI-02",
	model.Reading:       "NESCOR.AMI-04",
}

type edge struct {
	to int
	w  float64
}

func cascade(m *model.Model, c *catalogue.Catalogue) []CascadeEntry {
	n := len(m.Components)
	idx := make(map[string]int, n)
	for i, comp := range m.Components {
		if _, dup := idx[comp.ID]; !dup {
			idx[comp.ID] = i
		}
	}
	adj := make([][]edge, n)
	kinds := make([][]model.DataKind, n) // what each component can send that is acted on
	for i := range m.Flows {
		f := &m.Flows[i]
		to, ok := idx[f.To]
		if !ok {
			continue
		}
		w := 1.0
		if slices.ContainsFunc(f.Data, func(d model.Datum) bool { return commanding(d.Kind) }) {
			w = commandWeight
		}
		senders := []string{f.From}
		if !(f.Protection.Authenticated && f.Protection.Integrity) {
			senders = append(senders, f.Via...)
		}
		for _, s := range senders {
			if from, ok := idx[s]; ok && from != to {
				adj[from] = append(adj[from], edge{to, w})
				for _, d := range f.Data {
					if !slices.Contains(kinds[from], d.Kind) {
						kinds[from] = append(kinds[from], d.Kind)
					}
				}
			}
		}
	}
	mates := boundaryMates(m, idx)
	cuts := cutControls(c)
	out := []CascadeEntry{}
	dist := make([]int, n)
	best := make([]float64, n)
	queue := make([]int, 0, n)
	for s := range n {
		for i := range dist {
			dist[i], best[i] = -1, 0
		}
		dist[s] = 0
		queue = append(queue[:0], s)
		for h := 0; h < len(queue); h++ {
			u := queue[h]
			for _, e := range adj[u] {
				if dist[e.to] < 0 {
					dist[e.to] = dist[u] + 1
					queue = append(queue, e.to)
				}
				best[e.to] = max(best[e.to], e.w)
			}
		}
		// Lateral exposure: the boundary mates of everything captured, one
		// hop further, not expanded in turn.
		captured := len(queue)
		for _, u := range queue[:captured] {
			for _, v := range mates[u] {
				if dist[v] < 0 {
					dist[v], best[v] = dist[u]+1, trustWeight
					queue = append(queue, v)
				}
			}
		}
		if len(queue) == 1 {
			continue
		}
		e := CascadeEntry{Component: m.Components[s].ID, Reaches: make([]string, 0, len(queue)-1)}
		for _, r := range queue[1:] {
			e.Reaches = append(e.Reaches, m.Components[r].ID)
			e.Score += best[r] / float64(dist[r])
		}
		slices.Sort(e.Reaches)
		for _, k := range kinds[s] {
			for _, id := range cuts[k] {
				if !slices.Contains(e.CutBy, id) {
					e.CutBy = append(e.CutBy, id)
				}
			}
		}
		slices.Sort(e.CutBy)
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b CascadeEntry) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(len(b.Reaches), len(a.Reaches)), cmp.Compare(a.Component, b.Component))
	})
	return out
}

// boundaryMates lists, for each component, the others of its trust boundary.
func boundaryMates(m *model.Model, idx map[string]int) map[int][]int {
	members := map[string][]int{}
	for _, comp := range m.Components {
		if comp.TrustBoundary != "" {
			members[comp.TrustBoundary] = append(members[comp.TrustBoundary], idx[comp.ID])
		}
	}
	mates := map[int][]int{}
	for _, ms := range members {
		for _, a := range ms {
			for _, b := range ms {
				if a != b {
					mates[a] = append(mates[a], b)
				}
			}
		}
	}
	return mates
}

func commanding(k model.DataKind) bool {
	return k == model.Command || k == model.ControlSignal || k == model.Firmware || k == model.KeyUpdate
}

// cutControls maps each data kind to the catalogue controls that would stop
// a compromised sender of it from driving its receivers.
func cutControls(c *catalogue.Catalogue) map[model.DataKind][]framework.ControlID {
	out := map[model.DataKind][]framework.ControlID{}
	for k, threat := range obeyedThreats {
		for _, ctl := range c.ControlsFor(threat) {
			if slices.ContainsFunc(ctl.Services, func(s string) bool { return slices.Contains(cutServices, s) }) &&
				!slices.Contains(ctl.Services, "authenticate-origin") {
				out[k] = append(out[k], ctl.ID)
			}
		}
	}
	return out
}
