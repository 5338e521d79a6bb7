package metrics

import (
	"math"
	"sort"

	"github.com/usapp/usapp/privacy/nilm"
)

// TrueEvents is the ground truth an attacker is scored against: for every
// appliance, each sample i whose power differs from sample i−1 by more than
// threshold watts is an event at index i with that signed difference.
//
// Simultaneous events: an observer of the aggregate sees one net step per
// sample, so same-sign events of different appliances in the same sample are
// merged into one event (their deltas summed); an on and an off in the same
// sample stay two events, one of each sign, since a detector could in
// principle report either. The result is sorted by index, the off event
// before the on event within a sample. Appliance series shorter than the
// others only contribute over their own length.
func TrueEvents(appliances map[string][]float64, threshold float64) []nilm.Event {
	type key struct {
		index int
		on    bool
	}
	merged := map[key]float64{}
	for _, s := range appliances {
		for i := 1; i < len(s); i++ {
			d := s[i] - s[i-1]
			if math.Abs(d) > threshold {
				merged[key{i, d > 0}] += d
			}
		}
	}
	events := make([]nilm.Event, 0, len(merged))
	for k, d := range merged {
		events = append(events, nilm.Event{Index: k.index, Delta: d})
	}
	sort.Slice(events, func(i, j int) bool {
		if events[i].Index != events[j].Index {
			return events[i].Index < events[j].Index
		}
		return events[i].Delta < events[j].Delta
	})
	return events
}

// EventScore is an attacker's detection quality. A ratio with a zero
// denominator is 0.
type EventScore struct {
	Precision, Recall, F1 float64
	TP, FP, FN            int
}

// ScoreEvents matches detected events to true events one-to-one: a pair
// matches when the signs agree (an on is never credited for an off) and the
// indices differ by at most tolerance samples. A zero delta has no sign and
// matches nothing. The matching is maximum: per sign, events are taken in
// index order and each true event takes the earliest unmatched detection in
// its window, which is optimal because all windows have the same width.
func ScoreEvents(truth, detected []nilm.Event, tolerance int) EventScore {
	tp := matchSigned(truth, detected, tolerance, 1) + matchSigned(truth, detected, tolerance, -1)
	s := EventScore{TP: tp, FP: len(detected) - tp, FN: len(truth) - tp}
	s.Precision = ratio(tp, len(detected))
	s.Recall = ratio(tp, len(truth))
	if s.Precision+s.Recall > 0 {
		s.F1 = 2 * s.Precision * s.Recall / (s.Precision + s.Recall)
	}
	return s
}

// matchSigned counts the matches among events of one sign.
func matchSigned(truth, detected []nilm.Event, tolerance int, sign float64) int {
	t, d := indicesOfSign(truth, sign), indicesOfSign(detected, sign)
	matched, j := 0, 0
	for _, ti := range t {
		for j < len(d) && d[j] < ti-tolerance {
			j++ // too early for this and every later true event
		}
		if j < len(d) && d[j] <= ti+tolerance {
			matched++
			j++
		}
	}
	return matched
}

func indicesOfSign(events []nilm.Event, sign float64) []int {
	var idx []int
	for _, e := range events {
		if e.Delta*sign > 0 {
			idx = append(idx, e.Index)
		}
	}
	sort.Ints(idx)
	return idx
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
