package eval

import (
	"fmt"
	"testing"
	"time"

	"github.com/usapp/usapp/control/energy"
)

// BenchmarkRideThrough compares USaPP with and without riding through large
// loads (energy.USaPP.RideThrough) on the goal days, the population and the
// held-out homes, with the hysteresis before (250 W) and now (200 W). Run
// with -v:
//
//	go test ./privacy/eval -run xxx -bench RideThrough -benchtime 1x -v
func BenchmarkRideThrough(b *testing.B) {
	sets := goalPopulationHeldOut(b)
	settings := []struct {
		ride       time.Duration
		hysteresis float64
	}{{-1, 250}, {-1, 200}, {10 * time.Minute, 200}, {20 * time.Minute, 250}, {20 * time.Minute, 200}, {40 * time.Minute, 200}}
	for b.Loop() {
		for _, set := range sets {
			for _, st := range settings {
				ride := "off"
				if st.ride > 0 {
					ride = st.ride.String()
				}
				label := fmt.Sprintf("ride %-5s hysteresis %3g W", ride, st.hysteresis)
				logGoal(b, set, label, energy.USaPP{RideThrough: st.ride, Hysteresis: st.hysteresis})
			}
		}
	}
}

// BenchmarkHysteresis compares USaPP's hysteresis (energy.USaPP.Hysteresis,
// the drift from the estimate that earns a level change) at 100, 150 and
// 200 W on the UK-DALE day alone, the goal days, the population and the
// held-out homes. A lower one lets the state of charge follow its target
// (docs/img/load_usapp_ukdale.png). Run with -v:
//
//	go test ./privacy/eval -run xxx -bench Hysteresis -benchtime 1x -v
func BenchmarkHysteresis(b *testing.B) {
	sets := append([]daySet{{"UK-DALE", testDays(b, 0)}}, goalPopulationHeldOut(b)...)
	for b.Loop() {
		for _, set := range sets {
			for _, h := range []float64{100, 150, 200} {
				logGoal(b, set, fmt.Sprintf("hysteresis %3g W", h), energy.USaPP{Hysteresis: h})
			}
		}
	}
}
