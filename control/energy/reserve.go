package energy

import (
	"fmt"
	"time"
)

// The reserve's horizon and threshold: USaPP keeps charge for the energy that
// demand above ReserveAboveW is expected to need over the next ReserveAhead.
// Compared, at the default knobs and with a scratch harness, with 2 h and
// with 800 W on the goal days and the population (BENCHMARKS.md, "Keeping
// charge for the large loads ahead"); not tuned further. 500 W sits above the fridge,
// lights and standby, which a battery should not carry for hours, and below
// the cooking, washing and drying loads.
const (
	ReserveAhead  = 3 * time.Hour
	ReserveAboveW = 500.0
)

// MaxHistoryDays bounds the history USaPP's tools give a HEMS (usapp privacy
// eval --history, the gateway's hems.history): a month, which a simulation
// generates on the spot. The mean moves little after the first week.
const MaxHistoryDays = 31

// ReserveFromHistory is Run.Reserve for a day like the history's: at each
// step, the mean over the past days of the energy (kWh) that demand above
// ReserveAboveW needed over the next ReserveAhead. Each day holds one whole
// day of demand (W) at step, starting at the same time of day as the run;
// the hours ahead of a day's last steps are read from its own start, as the
// next morning is not in that day.
//
// A home's large loads (cooking, washing, the dryer) come back at the same
// hours from day to day, so their mean says when the battery should be full.
// The mean, not a forecast of the day: the HEMS cannot know today's loads,
// and keeping charge that the day then does not need costs the round-trip
// loss on it, which the mean prices in by how often the load came.
func ReserveFromHistory(days [][]float64, step time.Duration) ([]float64, error) {
	if step <= 0 {
		return nil, &FieldError{Field: "step", Err: fmt.Errorf("%w: %w", ErrRun, errNotPositive)}
	}
	perDay := int(24 * time.Hour / step)
	if time.Duration(perDay)*step != 24*time.Hour {
		return nil, &FieldError{Field: "step", Err: fmt.Errorf("%w: %v does not divide a day", ErrRun, step)}
	}
	if len(days) == 0 {
		return nil, &FieldError{Field: "history", Err: fmt.Errorf("%w: %w", ErrRun, errEmpty)}
	}
	ahead := int(ReserveAhead / step)
	out := make([]float64, perDay)
	cum := make([]float64, perDay+1)
	for d, day := range days {
		if len(day) != perDay {
			return nil, &FieldError{Field: fmt.Sprintf("history[%d]", d),
				Err: fmt.Errorf("%w: %d steps of %v is not one day", ErrRun, len(day), step)}
		}
		if i := firstBad(day); i >= 0 {
			return nil, &FieldError{Field: fmt.Sprintf("history[%d][%d]", d, i), Err: fmt.Errorf("%w: %w", ErrRun, errNegative)}
		}
		for i, p := range day {
			cum[i+1] = cum[i] + max(0, p-ReserveAboveW)*step.Hours()/1000
		}
		for i := range perDay {
			end := i + ahead
			e := cum[min(end, perDay)] - cum[i]
			if end > perDay {
				e += cum[min(end-perDay, perDay)]
			}
			out[i] += e / float64(len(days))
		}
	}
	return out, nil
}
