package billing

import (
	"fmt"
	"math"
	"math/bits"
	"sort"
	"sync"
	"time"
)

// maxInterval bounds one register, and so the work of splitting it.
const maxInterval = 24 * time.Hour

// Register is a meter's energy register for one interval: customer data.
type Register struct {
	Start    time.Time
	Interval time.Duration
	EnergyWh int64
}

// Bill is one meter's bill over the registers added.
type Bill struct {
	Meter     string
	Registers int
	EnergyWh  int64
	ByBand    map[string]int64 // Wh per band that received any register time
	Cost      float64          // in the tariff's currency, rounded to 0.01 once
	Days      int              // distinct local days on which a register starts
}

// Biller accumulates registers per meter under one tariff.
type Biller struct {
	c *compiled

	mu     sync.Mutex
	meters map[string]*account
}

type account struct {
	registers int
	energy    int64
	byBand    []int64
	touched   []bool
	days      map[int64]struct{}
}

// NewBiller returns a Biller for a tariff, which must validate.
func NewBiller(t Tariff) (*Biller, error) {
	c, err := t.compile()
	if err != nil {
		return nil, err
	}
	return &Biller{c: c, meters: make(map[string]*account)}, nil
}

// Add bills one register. The register's energy is spread evenly over its
// interval and split pro rata, in whole Wh, between the bands it spans.
// Errors (ErrMeter, ErrRegister) leave the Biller unchanged.
func (b *Biller) Add(meter string, r Register) error {
	if meter == "" {
		return ErrMeter
	}
	if r.Interval <= 0 || r.Interval > maxInterval {
		return fmt.Errorf("%w: interval must be in (0, %v]", ErrRegister, maxInterval)
	}
	if r.EnergyWh < 0 {
		return fmt.Errorf("%w: negative energy", ErrRegister)
	}
	split := b.split(r)
	y, m, d := r.Start.In(b.c.loc).Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400

	b.mu.Lock()
	defer b.mu.Unlock()
	a := b.meters[meter]
	if a == nil {
		n := len(b.c.names)
		a = &account{byBand: make([]int64, n), touched: make([]bool, n), days: make(map[int64]struct{})}
		b.meters[meter] = a
	}
	if a.energy > math.MaxInt64-r.EnergyWh {
		return fmt.Errorf("%w: meter total overflows", ErrRegister)
	}
	a.registers++
	a.energy += r.EnergyWh
	for _, s := range split {
		a.byBand[s.band] += s.wh
		a.touched[s.band] = true
	}
	a.days[day] = struct{}{}
	return nil
}

type share struct {
	band int
	wh   int64
}

// split walks the register interval from one possible band change to the
// next. Piece k gets round(E·c_k/T) - round(E·c_{k-1}/T) Wh, where c_k is the
// time elapsed at the end of piece k and T the interval: exact integers that
// always sum to E.
func (b *Biller) split(r Register) []share {
	end := r.Start.Add(r.Interval)
	var out []share
	var done int64 // Wh allocated so far
	for t := r.Start; t.Before(end); {
		next := b.c.nextChange(t)
		if next.After(end) {
			next = end
		}
		upTo := mulDivRound(uint64(r.EnergyWh), uint64(next.Sub(r.Start)), uint64(r.Interval))
		band := b.c.bandAt(t)
		if n := len(out); n > 0 && out[n-1].band == band {
			out[n-1].wh += upTo - done
		} else {
			out = append(out, share{band, upTo - done})
		}
		done, t = upTo, next
	}
	return out
}

// mulDivRound returns round(a·b/c) for b <= c, exactly, in 128 bits.
func mulDivRound(a, b, c uint64) int64 {
	hi, lo := bits.Mul64(a, b)
	lo, carry := bits.Add64(lo, c/2, 0)
	hi += carry
	q, _ := bits.Div64(hi, lo, c)
	return int64(q)
}

// Bills returns one bill per meter, sorted by meter.
func (b *Biller) Bills() []Bill {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]Bill, 0, len(b.meters))
	for meter, a := range b.meters {
		bill := Bill{
			Meter:     meter,
			Registers: a.registers,
			EnergyWh:  a.energy,
			ByBand:    make(map[string]int64),
			Days:      len(a.days),
		}
		cost := b.c.standing * float64(bill.Days)
		for i, wh := range a.byBand {
			if a.touched[i] {
				bill.ByBand[b.c.names[i]] = wh
				cost += float64(wh) / 1000 * b.c.prices[i]
			}
		}
		bill.Cost = math.Round(cost*100) / 100
		out = append(out, bill)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Meter < out[j].Meter })
	return out
}
