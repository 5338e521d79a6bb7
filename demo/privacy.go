package demo

import (
	"github.com/usapp/usapp/privacy/eval"
	"github.com/usapp/usapp/privacy/metrics"
	"github.com/usapp/usapp/privacy/nilm"
)

// privacyHomes bounds how many homes the privacy summary scores: the
// attackers are cheap, but a thousand homes add seconds for a mean that has
// long converged.
const privacyHomes = 100

// PrivacySummary is what load-monitoring attackers learn from the readings
// that left the homes (C3.load-hiding): each attacker runs on the series each
// meter measured behind its HEMS, at the meter's sampling resolution (the
// finest data a utility could collect; the registers it bills are coarser),
// and is scored against the home's per-appliance ground truth.
type PrivacySummary struct {
	Algorithm       string             `json:"algorithm"`
	Planned         bool               `json:"planned"`      // the HEMS told the algorithm the runs it schedules
	HistoryDays     int                `json:"history_days"` // days before the simulated one each synthetic home's HEMS learned from
	BatteryKWh      float64            `json:"battery_kwh"`
	BatteryKW       float64            `json:"battery_kw"`
	Homes           int                `json:"homes_evaluated"`
	F1              map[string]float64 `json:"f1"` // mean over homes, per attacker
	WorstF1         float64            `json:"worst_f1"`
	UnhiddenWorstF1 float64            `json:"unhidden_worst_f1"` // the same attackers on the demand itself
	MIBits          float64            `json:"mi_bits"`           // mean I(demand; metered)
	ExtraEnergyPct  float64            `json:"extra_energy_pct"`  // mean energy the battery's losses add
}

func (w *world) privacy() (*PrivacySummary, error) {
	p := &PrivacySummary{Algorithm: w.o.Hiding, Planned: w.o.Planned, HistoryDays: w.o.History, BatteryKWh: w.o.Battery.CapacityKWh, BatteryKW: w.o.Battery.MaxDischargeKW,
		F1: map[string]float64{}}
	attackers := nilm.Attackers()
	unhidden := map[string]float64{}
	for _, h := range w.homes[:min(len(w.homes), privacyHomes)] {
		hidden, err := eval.Attack(h.demand, h.metered.Mains, attackers, eval.Options{})
		if err != nil {
			return nil, err
		}
		plain, err := eval.Attack(h.demand, h.demand.Mains, attackers, eval.Options{})
		if err != nil {
			return nil, err
		}
		for name, s := range hidden.Scores {
			p.F1[name] += s.F1
			unhidden[name] += plain.Scores[name].F1
		}
		p.MIBits += hidden.MIBits
		p.ExtraEnergyPct += metrics.ExtraEnergyPct(h.demand.Mains, h.metered.Mains)
		p.Homes++
	}
	n := float64(p.Homes)
	for name := range p.F1 {
		p.F1[name] /= n
		p.WorstF1 = max(p.WorstF1, p.F1[name])
		p.UnhiddenWorstF1 = max(p.UnhiddenWorstF1, unhidden[name]/n)
	}
	p.MIBits /= n
	p.ExtraEnergyPct /= n
	return p, nil
}
