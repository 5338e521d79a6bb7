package eval

import (
	"testing"

	"github.com/usapp/usapp/control/energy"
)

// BenchmarkReserve measures what a HEMS gains from the home's history
// (Options.Reserve from HistoryReserve, `usapp privacy eval --history N`):
// USaPP keeps charge for the large loads the previous days show at each
// hour. The UK-DALE day has no history and runs without it. Per set: days
// within all three targets, below the three baselines on MI, meeting the
// whole goal, and the means. Run with -v:
//
//	go test ./privacy/eval -run xxx -bench Reserve -benchtime 1x -v
func BenchmarkReserve(b *testing.B) {
	sets := goalPopulationHeldOut(b)
	for b.Loop() {
		for _, set := range sets {
			for _, days := range []int{0, 1, 3, 7} {
				var all, belowMI, goal int
				var f1, mi, extra float64
				for _, d := range set.days {
					var opts Options
					if days > 0 && d.seed != 0 {
						r, err := HistoryReserve(d.seed, days)
						if err != nil {
							b.Fatal(err)
						}
						opts.Reserve = r
					}
					s := usappStanding(b, d, energy.USaPP{}, opts)
					all += b2i(s.All())
					belowMI += b2i(s.BeatsMI)
					goal += b2i(s.All() && s.BeatsF1 && s.BeatsMI)
					f1, mi, extra = f1+s.Worst.F1, mi+s.Worst.MIBits, extra+s.Worst.ExtraEnergyPct
				}
				k := float64(len(set.days))
				b.Logf("%-10s history %d days: all three %2d, below on MI %2d, whole goal %2d of %d; mean worst F1 %.3f, MI %.3f bits, extra energy %.2f %%",
					set.name, days, all, belowMI, goal, len(set.days), f1/k, mi/k, extra/k)
			}
		}
	}
}

func TestHistoryReserveBounds(t *testing.T) {
	for _, days := range []int{0, -1, energy.MaxHistoryDays + 1} {
		if _, err := HistoryReserve(1, days); err == nil {
			t.Errorf("%d days of history: no error", days)
		}
	}
	r, err := HistoryReserve(3, 2)
	if err != nil {
		t.Fatal(err)
	}
	tr, _, _ := Builtin(SourceSynthetic, 3)
	if len(r) != tr.Len() {
		t.Fatalf("reserve of %d steps for a day of %d", len(r), tr.Len())
	}
}
