package main

import (
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"

	"github.com/usapp/usapp/control/energy"
	"github.com/usapp/usapp/demo"
)

type demoCmd struct {
	Homes int    `help:"Number of homes." default:"20"`
	Hours int    `help:"Simulated hours." default:"24"`
	Seed  int64  `help:"Seed of the synthetic homes." default:"1"`
	Out   string `help:"Output directory (summary.json, data/)." default:"usapp-out" type:"path"`
	Quiet bool   `help:"No progress bar."`

	Hiding     string  `help:"Load-hiding algorithm each home's HEMS runs (none, best-effort, nill, random, stepping, usapp)." default:"usapp"`
	BatteryKWh float64 `name:"battery-kwh" help:"Capacity of each home's battery (kWh)." default:"2"`
	BatteryKW  float64 `name:"battery-kw" help:"Charge and discharge power limit of each home's battery (kW)." default:"3"`
	Planned    bool    `help:"Each home's HEMS schedules its washing machine, dishwasher and tumble dryer and tells the hiding algorithm their runs ahead; usapp spreads each over a wider window."`
	History    int     `help:"Each synthetic home's HEMS has run for N days before the simulated one (0-31) and keeps charge for the large loads they show at each hour; the UK-DALE home has no earlier days." placeholder:"N"`

	DemandResponse []string `name:"demand-response" sep:"none" placeholder:"FROM-TO=KW" help:"Cap every home's import during a daily window in the tariff's local time, e.g. 17:00-19:00=1.5 (repeatable); the HEMS arbitrates it against privacy and cost."`

	CPUProfile string `name:"cpuprofile" help:"Write a CPU profile (go tool pprof) of the run to this file." type:"path"`
}

func (d *demoCmd) Run(g *globals) error {
	battery := energy.DefaultBattery()
	battery.CapacityKWh, battery.MaxChargeKW, battery.MaxDischargeKW = d.BatteryKWh, d.BatteryKW, d.BatteryKW
	opts := demo.Options{Homes: d.Homes, Hours: d.Hours, Seed: d.Seed, Out: d.Out, Log: newLogger(g.logLevel),
		Hiding: d.Hiding, Battery: &battery, Planned: d.Planned, History: d.History}
	for _, s := range d.DemandResponse {
		c, err := demo.ParseDemandResponse(s)
		if err != nil {
			return hinted(err, "--demand-response takes FROM-TO=KW with times HH:MM, e.g. 17:00-19:00=1.5")
		}
		opts.DemandResponse = append(opts.DemandResponse, c)
	}
	if !d.Quiet {
		opts.Progress = os.Stderr
	}
	fmt.Fprintf(os.Stderr, "usapp demo: %d homes, %d h, seed %d; output in %s\n", d.Homes, d.Hours, d.Seed, d.Out)
	if d.CPUProfile != "" {
		f, err := os.Create(d.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	sum, err := demo.Run(g.ctx, opts)
	if err != nil {
		return err
	}
	sum.WriteText(os.Stdout)
	fmt.Printf("  summary    %s/summary.json\n", d.Out)
	if !sum.Clean() {
		return fmt.Errorf("the run was not clean")
	}
	return nil
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}
