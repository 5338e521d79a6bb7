package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/usapp/usapp/billing"
	"github.com/usapp/usapp/control/energy"
	"github.com/usapp/usapp/privacy/eval"
	"github.com/usapp/usapp/privacy/eval/plot"
	"github.com/usapp/usapp/privacy/nilm"
	"github.com/usapp/usapp/sim/household"
)

type privacyCmd struct {
	Eval     privacyEvalCmd     `cmd:"" help:"Measure load hiding: run hiding algorithms on a day of demand and attack the metered load with NILM attackers."`
	Frontier privacyFrontierCmd `cmd:"" help:"Compare hiding algorithms at equal energy: sweep every algorithm's settings over many days and report each family's best privacy within each energy budget."`
}

// batteryOpts are the battery flags every privacy command shares.
type batteryOpts struct {
	BatteryKWh float64 `name:"battery-kwh" help:"Battery capacity (kWh)." default:"2"`
	BatteryKW  float64 `name:"battery-kw" help:"Battery charge and discharge power limit (kW)." default:"3"`
	Efficiency float64 `name:"battery-efficiency" help:"Battery round-trip efficiency (0 to 1]." default:"0.9"`
}

type privacyEvalCmd struct {
	Data       string      `required:"" help:"Demand data: a UK-DALE CSV or UCI ';' file, 'ukdale' (embedded day) or 'synthetic'." placeholder:"FILE|ukdale|synthetic"`
	Seed       int64       `help:"Seed of the synthetic home and of the randomised algorithms." default:"1"`
	Battery    batteryOpts `embed:""`
	Algo       string      `help:"Hiding algorithm, or 'all'. 'none' (no battery) is always reported." default:"all"`
	Attacker   string      `help:"NILM attacker, or 'all'." default:"all"`
	JSON       string      `name:"json" help:"Write the rows as a JSON array to this file." type:"path" placeholder:"FILE"`
	Plot       string      `help:"Write PNG figures to this directory (implies --sweep and --reference)." type:"path" placeholder:"DIR"`
	Reference  bool        `help:"Also print the non-causal reference trade-off: the mutual information and extra energy of the best 1-24 flat holds per day."`
	Floor      bool        `help:"Also bound each algorithm from below: the least mutual information any hider with this battery (foresight, free order inside half-hours) could reach at that algorithm's metered range and extra energy; about 1 s per algorithm per core on a day of samples (mi_floor_bits in --json)."`
	Sweep      bool        `help:"Also evaluate battery capacities 0.25-5 kWh at the same power (rows added to --json)."`
	Threshold  float64     `name:"event-threshold" help:"Smallest appliance step (W) that counts as a true event; 0 is the attackers' noise floor (40 W)." default:"0"`
	MIBins     int         `name:"mi-bins" help:"Bins per series for mutual information." default:"32"`
	AllowDrift bool        `name:"allow-soc-drift" help:"Let algorithms end the day at any state of charge."`
	Planned    bool        `help:"Tell the algorithms the runs of the home's deferrable appliances (washing machine, dishwasher, tumble dryer), as a HEMS that schedules them knows them; usapp spreads each over a wider window, the baselines ignore them."`
	History    int         `help:"Give usapp this many earlier days of the synthetic home (1-31): it keeps charge for the large loads they show at each hour of the day; the baselines ignore them. Synthetic homes only." placeholder:"DAYS"`
}

func (c *privacyEvalCmd) Run(*globals) error { return c.run(os.Stdout, os.Stderr) }

// reserve is what --history gives usapp: nil without it.
func (c *privacyEvalCmd) reserve() ([]float64, error) {
	if c.History == 0 {
		return nil, nil
	}
	if c.Data != eval.SourceSynthetic {
		err := fmt.Errorf("%w: --history with --data %s: only synthetic homes have earlier days", eval.ErrOptions, c.Data)
		return nil, hinted(err, "use --history with --data synthetic")
	}
	r, err := eval.HistoryReserve(c.Seed, c.History)
	if err != nil {
		return nil, hinted(err, "--history takes 1 to 31 days")
	}
	return r, nil
}

func (c *privacyEvalCmd) run(stdout, stderr io.Writer) error {
	tr, err := loadData(c.Data, c.Seed)
	if err != nil {
		return err
	}
	b, err := c.Battery.battery()
	if err != nil {
		return err
	}
	algos, err := pickAlgorithms(c.Algo)
	if err != nil {
		return err
	}
	attackers, err := pickAttackers(c.Attacker)
	if err != nil {
		return err
	}
	opts := eval.Options{EventThresholdW: c.Threshold, MIBins: c.MIBins, AllowSoCDrift: c.AllowDrift, Seed: c.Seed, Planned: c.Planned}
	if opts.Reserve, err = c.reserve(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "usapp privacy eval: %s, %d samples of %v from %s; battery %g kWh / %g kW / round trip %g\n",
		tr.Name, tr.Len(), tr.Step, tr.Start.UTC().Format(time.RFC3339), b.CapacityKWh, b.MaxDischargeKW, b.RoundTripEfficiency)
	t0 := time.Now()
	rep, err := eval.EvaluateReport(tr, b, algos, attackers, opts)
	if err != nil {
		return hinted(err, "check --event-threshold and --mi-bins")
	}
	fmt.Fprintf(stderr, "evaluated none + %d algorithm(s) x %d attacker(s) in %v\n", len(algos), len(attackers), time.Since(t0).Round(time.Millisecond))
	writeTable(stdout, rep.Rows, billing.DefaultTariff().Currency)
	writeStanding(stdout, rep.Rows)
	if c.Floor {
		progress := func(alg string) { fmt.Fprintf(stderr, "MI floor: %s...\n", alg) }
		if err := eval.AddFloors(tr, rep, b, opts.MIBins, progress); err != nil {
			return hintTooLong(err, "the floor needs a trace of at most "+fmt.Sprint(eval.MaxFloorSamples)+" samples; drop --floor, or cut the file")
		}
		writeFloors(stdout, rep.Rows)
	}
	rows := rep.Rows
	var ref []eval.ReferencePoint
	if c.Reference || c.Plot != "" {
		if ref, err = eval.Reference(tr, b.RoundTripEfficiency, eval.ReferenceHolds, opts.MIBins); err != nil {
			return hintTooLong(err, "the reference needs a trace of at most "+fmt.Sprint(eval.MaxReferenceSamples)+" samples; drop --reference and --plot, or cut the file")
		}
		writeReference(stdout, ref)
	}
	if c.Sweep || c.Plot != "" {
		t0 = time.Now()
		sweep, err := eval.Sweep(tr, eval.Batteries(b, eval.SweepCapacitiesKWh), algos, attackers, opts)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "swept %d battery sizes in %v\n", len(eval.SweepCapacitiesKWh), time.Since(t0).Round(time.Millisecond))
		fmt.Fprintf(stdout, "\nprivacy against battery size (%g kW, worst attacker per algorithm):\n", b.MaxDischargeKW)
		writeSweep(stdout, sweep)
		rows = append(rows, sweep...)
		if c.Plot != "" {
			if err := writePlots(stdout, c.Plot, tr, rep, sweep, ref); err != nil {
				return err
			}
		}
	}
	if c.JSON != "" {
		if err := writeJSON(c.JSON, rows); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "rows: %s\n", c.JSON)
	}
	return nil
}

// loadData resolves --data: a built-in source or a file in either format.
func loadData(spec string, seed int64) (*household.Trace, error) {
	if tr, ok, err := eval.Builtin(spec, seed); ok {
		return tr, err
	}
	f, err := os.Open(spec)
	if err != nil {
		return nil, hinted(err, "--data takes a UK-DALE CSV or UCI ';' file, 'ukdale' or 'synthetic'")
	}
	defer f.Close()
	tr, err := eval.LoadTrace(f, spec)
	if err != nil {
		return nil, hinted(err, "fix the file at the line shown; see sim/household/testdata for the two accepted layouts")
	}
	return tr, nil
}

// battery builds the battery from the flags and names the flag at fault.
func (c batteryOpts) battery() (energy.Battery, error) {
	b := energy.DefaultBattery()
	b.CapacityKWh = c.BatteryKWh
	b.MaxChargeKW, b.MaxDischargeKW = c.BatteryKW, c.BatteryKW
	b.RoundTripEfficiency = c.Efficiency
	err := b.Validate()
	if err == nil {
		return b, nil
	}
	// Name the flag in front of every impossible field, keeping the
	// *energy.FieldError values reachable with errors.As.
	var flagged []error
	var flags []string
	for _, e := range unjoin(err) {
		var fe *energy.FieldError
		flag, ok := "", false
		if errors.As(e, &fe) {
			flag, ok = batteryFlags[fe.Field]
		}
		if !ok {
			flagged = append(flagged, e)
			continue
		}
		flagged = append(flagged, fmt.Errorf("%s: %w", flag, e))
		if !slices.Contains(flags, flag) {
			flags = append(flags, flag)
		}
	}
	hint := "check --battery-kwh, --battery-kw and --battery-efficiency"
	if len(flags) > 0 {
		hint = "set " + strings.Join(flags, ", ") + " to possible values"
	}
	return b, hinted(errors.Join(flagged...), hint)
}

// unjoin lists the errors an errors.Join combined, or err itself.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// batteryFlags maps energy.FieldError fields to the flags that set them.
var batteryFlags = map[string]string{
	"CapacityKWh":         "--battery-kwh",
	"MaxChargeKW":         "--battery-kw",
	"MaxDischargeKW":      "--battery-kw",
	"RoundTripEfficiency": "--battery-efficiency",
}

func pickAlgorithms(name string) ([]energy.Algorithm, error) {
	switch name {
	case "all":
		return energy.Algorithms(), nil
	case eval.None:
		return nil, nil
	}
	a, err := energy.Lookup(name)
	if err != nil {
		return nil, hinted(err, "--algo takes all, none or one of: "+strings.Join(energy.Names(), ", "))
	}
	return []energy.Algorithm{a}, nil
}

func pickAttackers(name string) ([]nilm.Attacker, error) {
	if name == "all" {
		return nilm.Attackers(), nil
	}
	a, err := nilm.Lookup(name)
	if err != nil {
		return nil, hinted(err, "--attacker takes all or one of: "+strings.Join(nilm.Names(), ", "))
	}
	return []nilm.Attacker{a}, nil
}

func writeTable(w io.Writer, rows []eval.Row, currency string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "algorithm\tattacker\tF1\tprecision\trecall\tMI bits\tρ\textra energy %\tlosses kWh\tSoC drift kWh\tpeak kW\tcost "+currency+"\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.2f\t%.3f\t%+.3f\t%.2f\t%.2f\t\n",
			r.Algorithm, r.Attacker, r.F1, r.Precision, r.Recall, r.MIBits, r.Correlation,
			r.ExtraEnergyPct, r.LossesKWh, r.SoCDriftKWh, r.PeakKW, r.Cost)
	}
	tw.Flush()
}

// writeStanding says, per hiding algorithm, which of the design target's
// goals its worst attacker leaves met and whether it beats the baselines.
func writeStanding(w io.Writer, rows []eval.Row) {
	t := eval.DesignTarget
	fmt.Fprintf(w, "\ndesign target (worst attacker): F1 <= %g, MI <= %g bits, extra energy <= %g %%; beats: adaptive-attacker F1 / MI below %s\n",
		t.F1, t.MIBits, t.ExtraEnergyPct, strings.Join(eval.GoalBaselines, ", "))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "algorithm\tF1\tMI\tenergy\tall three\tbeats F1\tbeats MI\t")
	partial := false
	for _, s := range t.Stand(rows, eval.GoalBaselines) {
		if s.Worst.Algorithm == "none" {
			continue
		}
		beatsF1, beatsMI := "-", "-"
		switch {
		case slices.Contains(eval.GoalBaselines, s.Worst.Algorithm):
		case s.Compared < len(eval.GoalBaselines):
			partial = true
		default:
			beatsF1, beatsMI = yesNo(s.BeatsF1), yesNo(s.BeatsMI)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", s.Worst.Algorithm,
			yesNo(s.F1), yesNo(s.MI), yesNo(s.Energy), yesNo(s.All()), beatsF1, beatsMI)
	}
	tw.Flush()
	if partial {
		fmt.Fprintln(w, "(beats: needs every baseline and the adaptive attacker; use --algo all and --attacker all or adaptive)")
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func writeSweep(w io.Writer, rows []eval.Row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "battery kWh\talgorithm\tworst attacker\tF1\tMI bits\textra energy %\t")
	for _, r := range eval.ByBattery(eval.Worst(rows)) {
		fmt.Fprintf(tw, "%g\t%s\t%s\t%.3f\t%.3f\t%.2f\t\n", r.BatteryKWh, r.Algorithm, r.Attacker, r.F1, r.MIBits, r.ExtraEnergyPct)
	}
	tw.Flush()
}

func writePlots(w io.Writer, dir string, tr *household.Trace, rep *eval.Report, sweep []eval.Row, ref []eval.ReferencePoint) error {
	paths, err := plot.Loads(dir, tr, rep.Runs)
	if err != nil {
		return err
	}
	p, err := plot.Privacy(dir, sweep)
	if err != nil {
		return err
	}
	t, err := plot.TradeOff(dir, rep.Rows, ref, eval.DesignTarget)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "figures: %s\n", strings.Join(append(paths, p, t), " "))
	return nil
}

// writeReference prints the non-causal reference trade-off as one table.
func writeReference(w io.Writer, ref []eval.ReferencePoint) {
	fmt.Fprintln(w, "\nnon-causal reference: the day cut into N flat holds by least squares, known in advance, unlimited battery:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "holds\tMI bits\textra energy %\t")
	for _, r := range ref {
		fmt.Fprintf(tw, "%d\t%.3f\t%.2f\t\n", r.Holds, r.MIBits, r.ExtraEnergyPct)
	}
	tw.Flush()
}

// writeFloors prints each algorithm's MI next to its floor, once per
// algorithm.
func writeFloors(w io.Writer, rows []eval.Row) {
	fmt.Fprintln(w, "\nMI floor: the least any hider with this battery could leak at the same metered range and extra energy (even with foresight):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "algorithm\tMI bits\tfloor bits\textra energy %\t")
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r.Algorithm] || r.MIFloorBits == nil {
			continue
		}
		seen[r.Algorithm] = true
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.2f\t\n", r.Algorithm, r.MIBits, *r.MIFloorBits, r.ExtraEnergyPct)
	}
	tw.Flush()
}

// writeJSON writes v as indented JSON to path.
func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// hintError carries a line the user can act on; main prints it after the
// error as "hint: ...".
type hintError struct {
	err  error
	hint string
}

func hinted(err error, hint string) error { return &hintError{err: err, hint: hint} }

// hintTooLong adds hint only when err is an analysis refusing a long trace;
// any other error stands as it is.
func hintTooLong(err error, hint string) error {
	if errors.Is(err, eval.ErrTooLong) {
		return hinted(err, hint)
	}
	return err
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }
func (e *hintError) Hint() string  { return e.hint }
