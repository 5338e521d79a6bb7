package energy_test

import (
	"time"

	"github.com/usapp/usapp/control/energy"
)

func configure(u *energy.USaPP) {
	u.Mode = int(envF("MODE", 0))
	u.Slew = envF("SLEW", 0)
	u.Average = time.Duration(envF("AVG", 120)) * time.Minute
	u.Horizon = time.Duration(envF("HOR", 120)) * time.Minute
	u.Gain = envF("GAIN", 1)
	u.QGoal = envF("QG", 0)
	u.PriceShift = envF("PS", 0)
	u.Quantum = envF("Q", 100)
	u.Hyst = envF("HYST", 150)
	u.MinGap = time.Duration(envF("GAP", 20)) * time.Minute
	u.QuietW = envF("QUIET", 30)
	u.Band = envF("BAND", 0.15)
	u.Check = time.Duration(envF("CHECK", 10)) * time.Minute
}
