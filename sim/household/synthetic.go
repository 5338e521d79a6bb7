package household

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"
)

// Synthetic describes a synthetic home. The zero value is usable: Step
// defaults to one minute, Duration to 24 h, Start to 2013-06-08 00:00 UTC (the
// day of the embedded UK-DALE trace). The same Synthetic always generates the
// same trace, bit for bit.
//
// # Model
//
// Appliance statistics (mean cycle power, cycle length, cycles per year) are
// those of the CREST model (Richardson et al., Energy and Buildings 42
// (2010)). Each home draws, from its seed:
//
//   - ownership of every appliance with the probabilities in [SyntheticAppliances]
//     (kettle 0.975 and tumble dryer 0.416 are CREST's; the others are our
//     estimates of UK ownership, close to CREST's table);
//   - an always-on base load, uniform in 50-150 W, kept as the appliance "base";
//   - an activity level, uniform in 0.5-1.5, scaling how often occupant-driven
//     appliances run (small and large households);
//   - a power factor per appliance, uniform in 0.85-1.15 of the mean cycle power.
//
// Cold appliances cycle all day with a period of one year divided by their
// cycles per year, a random phase and ±5% jitter. Occupant-driven appliances
// run a Poisson number of cycles per day (mean: cycles per year / 365 times
// the activity level) starting at times drawn from an hourly profile of the
// local time of Start, with peaks in the morning and the evening; a cycle that
// would overlap the previous one of the same appliance waits for it to end.
// TV and PC draw their standby power when off.
//
// Deliberate omissions: storage heaters (10.2 kW for 6 h overnight) are
// seasonal and would dominate a summer day, so they are not generated; the
// lighting entry is our own coarse stand-in for CREST's separate lighting
// model.
type Synthetic struct {
	Seed int64
	// Day picks one day in the life of the home Seed draws: every Day has
	// the same appliances, base load, activity level and power factors, and
	// its own cycles (cold-appliance phases, occupant start times). Day 0 is
	// the home's reference day; any other value, negative ones included, is
	// another day. A HEMS that tunes itself on its history (yesterday is
	// Day −1) is evaluated this way.
	Day      int64
	Start    time.Time
	Step     time.Duration
	Duration time.Duration
}

// Appliance is one entry of the synthetic appliance table.
type Appliance struct {
	Name         string
	Ownership    float64       // probability that a home has it
	Watts        float64       // mean power while on
	StandbyWatts float64       // power while off
	Cycle        time.Duration // mean length of one use
	PerYear      float64       // cycles per year (at activity level 1)
	Profile      string        // "" for all-day cycling, else the hourly profile used
}

// Hourly start-time weights (local hour 0..23). Shapes follow the morning and
// evening peaks of UK occupancy in the CREST activity model; values are ours.
var profiles = map[string]*[24]float64{
	"activity": {0.2, 0.1, 0.1, 0.1, 0.1, 0.3, 1.0, 2.5, 2.5, 1.8, 1.4, 1.3, 1.4, 1.2, 1.1, 1.1, 1.4, 2.0, 2.4, 2.2, 1.8, 1.4, 0.9, 0.5},
	"cooking":  {0.05, 0, 0, 0, 0, 0.1, 0.6, 1.5, 1.2, 0.6, 0.5, 1.0, 2.0, 1.4, 0.5, 0.4, 0.8, 2.4, 3.0, 2.2, 1.0, 0.5, 0.3, 0.1},
	"leisure":  {0.4, 0.2, 0.1, 0.1, 0.1, 0.1, 0.3, 0.8, 0.8, 0.6, 0.6, 0.7, 0.8, 0.8, 0.8, 0.9, 1.2, 1.8, 2.5, 3.0, 3.0, 2.6, 1.8, 1.0},
	"lighting": {0.3, 0.1, 0.1, 0.1, 0.2, 0.5, 1.5, 2.0, 1.2, 0.3, 0.2, 0.2, 0.2, 0.2, 0.2, 0.3, 0.8, 1.8, 2.6, 3.0, 3.0, 2.6, 1.8, 0.8},
	"morning":  {0, 0, 0, 0, 0, 0.3, 2.0, 3.0, 2.0, 0.8, 0.4, 0.3, 0.2, 0.2, 0.2, 0.2, 0.3, 0.5, 0.6, 0.6, 0.6, 0.5, 0.4, 0.1},
}

// appliances is the table, in the fixed order in which homes are generated.
var appliances = []Appliance{
	{"fridge_freezer", 0.651, 190, 0, 22 * time.Minute, 6116, ""},
	{"refrigerator", 0.430, 110, 0, 18 * time.Minute, 6116, ""},
	{"chest_freezer", 0.163, 190, 0, 14 * time.Minute, 6116, ""},
	{"kettle", 0.975, 2000, 0, 3 * time.Minute, 1520, "activity"},
	{"microwave", 0.859, 1250, 0, 30 * time.Minute, 95, "cooking"},
	{"hob", 0.463, 2400, 0, 16 * time.Minute, 418, "cooking"},
	{"oven", 0.616, 2125, 0, 27 * time.Minute, 220, "cooking"},
	{"dishwasher", 0.335, 1131, 0, 60 * time.Minute, 241, "activity"},
	{"washing_machine", 0.781, 406, 0, 138 * time.Minute, 196, "activity"},
	{"tumble_dryer", 0.416, 2500, 0, 60 * time.Minute, 122, "activity"},
	{"iron", 0.900, 1000, 0, 30 * time.Minute, 35, "activity"},
	{"vacuum", 0.937, 2000, 0, 20 * time.Minute, 110, "activity"},
	{"tv", 0.977, 124, 3, 73 * time.Minute, 1000, "leisure"},
	{"pc", 0.708, 141, 5, 300 * time.Minute, 250, "leisure"},
	{"lighting", 1.000, 150, 0, 120 * time.Minute, 730, "lighting"},
	{"electric_shower", 0.300, 9000, 0, 3 * time.Minute, 260, "morning"},
}

// SyntheticAppliances returns a copy of the appliance table the generator
// draws from.
func SyntheticAppliances() []Appliance { return append([]Appliance(nil), appliances...) }

// defaultStart is the Start used when Synthetic.Start is zero.
var defaultStart = time.Date(2013, 6, 8, 0, 0, 0, 0, time.UTC)

const day = 86400.0 // seconds

// Generate builds the trace. Zero or negative Step and Duration take their
// defaults; Duration is rounded down to whole steps (at least one).
func (s Synthetic) Generate() *Trace {
	if s.Step <= 0 {
		s.Step = time.Minute
	}
	if s.Duration <= 0 {
		s.Duration = 24 * time.Hour
	}
	if s.Start.IsZero() {
		s.Start = defaultStart
	}
	n := max(1, int(s.Duration/s.Step))
	g := &gen{
		rng:  rand.New(rand.NewPCG(uint64(s.Seed), 0x9e3779b97f4a7c15)),
		n:    n,
		step: s.Step.Seconds(),
		dur:  float64(n) * s.Step.Seconds(),
	}
	h, m, sec := s.Start.Clock()
	g.startSod = float64(h*3600+m*60+sec) + float64(s.Start.Nanosecond())/1e9

	name := fmt.Sprintf("synthetic-%d", s.Seed)
	if s.Day != 0 {
		name = fmt.Sprintf("synthetic-%d day %d", s.Seed, s.Day)
	}
	tr := &Trace{
		Name:       name,
		Start:      s.Start,
		Step:       s.Step,
		Mains:      make([]float64, n),
		Appliances: make(map[string][]float64, len(appliances)+1),
	}
	// One backing array per home: 1000 homes cost 1000 allocations, not 15000.
	backing := make([]float64, n*(len(appliances)+1))
	take := func() []float64 { s := backing[:n:n]; backing = backing[n:]; return s }

	base := take()
	baseW := 50 + 100*g.rng.Float64()
	for i := range base {
		base[i] = baseW
	}
	tr.Appliances["base"] = base
	activity := 0.5 + g.rng.Float64()
	owned := []string{"base"}
	for i := range appliances {
		a := &appliances[i]
		// Draw every variate for every appliance so that ownership of one
		// does not shift the random stream of the next.
		has := g.rng.Float64() < a.Ownership
		scale := 0.85 + 0.3*g.rng.Float64()
		seed := g.rng.Uint64() ^ dayMix(s.Day)
		if !has {
			continue
		}
		series := take()
		g.fill(series, a, a.Watts*scale, activity, seed)
		tr.Appliances[a.Name] = series
		owned = append(owned, a.Name)
	}
	for _, name := range owned {
		for i, v := range tr.Appliances[name] {
			tr.Mains[i] += v
		}
	}
	return tr
}

// HomeSeed is the seed of home i of a neighbourhood drawn from seed (the
// demo's homes, a gateway's meters). The prime keeps neighbourhoods of
// nearby seeds from sharing homes. The home's HEMS seeds its randomised
// hiding from it too.
func HomeSeed(seed int64, i int) int64 { return seed*1_000_003 + int64(i) }

// Home is home i of the neighbourhood drawn from seed: a day of 1-minute
// samples from start.
func Home(seed int64, i int, start time.Time) Synthetic {
	return Synthetic{Seed: HomeSeed(seed, i), Start: start, Step: time.Minute, Duration: 24 * time.Hour}
}

// History is the n days the home lived before s.Day, most recent first: Day
// s.Day−1 … s.Day−n, each as long as s and starting that many days before
// s.Start, at the same time of day. It is what a HEMS that has run in the
// home for n days has measured, and what it learns a reserve from
// (energy.ReserveFromHistory). n ≤ 0 gives none.
func (s Synthetic) History(n int) []*Trace {
	out := make([]*Trace, max(0, n))
	for k := range out {
		d := s
		d.Day = s.Day - int64(k+1)
		d.Start = s.Start.AddDate(0, 0, -(k + 1))
		out[k] = d.Generate()
	}
	return out
}

// dayMix is 0 for Day 0, so that the reference day is the trace every
// earlier version generated, and otherwise a SplitMix64 output (Steele, Lea
// and Flood, OOPSLA 2014), which spreads neighbouring days over the whole
// seed space.
func dayMix(d int64) uint64 {
	if d == 0 {
		return 0
	}
	z := uint64(d) * 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

type gen struct {
	rng      *rand.Rand
	n        int
	step     float64 // seconds
	dur      float64 // seconds
	startSod float64 // local second of day at Start
}

// fill writes one appliance's mean power per step into series.
func (g *gen) fill(series []float64, a *Appliance, watts, activity float64, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, uint64(len(a.Name))))
	for i := range series {
		series[i] = a.StandbyWatts
	}
	on := watts - a.StandbyWatts
	cycle := a.Cycle.Seconds()
	if a.Profile == "" {
		period := 365 * day / a.PerYear
		for t := -period * rng.Float64(); t < g.dur; t += period * (0.95 + 0.1*rng.Float64()) {
			g.add(series, t, t+cycle*(0.9+0.2*rng.Float64()), on)
		}
		return
	}
	cdf := cumulative(profiles[a.Profile])
	lambda := a.PerYear / 365 * activity
	var starts []float64
	for d := 0.0; d*day < g.startSod+g.dur; d++ {
		for k := poisson(rng, lambda); k > 0; k-- {
			starts = append(starts, d*day+hourOf(rng, cdf)-g.startSod)
		}
	}
	sort.Float64s(starts)
	free := math.Inf(-1)
	for _, t := range starts {
		t = max(t, free)
		free = t + cycle*(0.8+0.4*rng.Float64())
		g.add(series, t, free, on)
	}
}

// add spreads power w over [t0, t1) (seconds from Start), pro rata per step.
func (g *gen) add(series []float64, t0, t1, w float64) {
	t0, t1 = max(t0, 0), min(t1, g.dur)
	if t0 >= t1 {
		return
	}
	first, last := int(t0/g.step), min(g.n-1, int(math.Ceil(t1/g.step))-1)
	for i := first; i <= last; i++ {
		lo, hi := max(t0, float64(i)*g.step), min(t1, float64(i+1)*g.step)
		if hi > lo {
			series[i] += w * (hi - lo) / g.step
		}
	}
}

func cumulative(p *[24]float64) [24]float64 {
	var c [24]float64
	sum := 0.0
	for i, v := range p {
		sum += v
		c[i] = sum
	}
	for i := range c {
		c[i] /= sum
	}
	return c
}

// hourOf draws a second of the day from the hourly cumulative weights.
func hourOf(rng *rand.Rand, cdf [24]float64) float64 {
	u := rng.Float64()
	h := sort.SearchFloat64s(cdf[:], u)
	h = min(h, 23)
	return (float64(h) + rng.Float64()) * 3600
}

// poisson draws from a Poisson distribution by Knuth's multiplication
// method, which is exact and fast for the small means used here (< 20).
func poisson(rng *rand.Rand, lambda float64) int {
	limit, k, p := math.Exp(-lambda), 0, rng.Float64()
	for p > limit {
		k++
		p *= rng.Float64()
	}
	return k
}
