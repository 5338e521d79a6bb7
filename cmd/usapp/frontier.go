package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/usapp/usapp/privacy/eval"
	"github.com/usapp/usapp/privacy/eval/plot"
	"github.com/usapp/usapp/sim/household"
)

type privacyFrontierCmd struct {
	Data     []string    `help:"Days of demand: 'ukdale' (embedded day), 'synthetic' (seeds 1..--homes) or a UK-DALE CSV or UCI ';' file; repeat or separate with commas." default:"ukdale,synthetic" placeholder:"SOURCE"`
	Homes    int         `help:"How many synthetic homes 'synthetic' stands for (seeds 1..N)." default:"20"`
	Battery  batteryOpts `embed:""`
	Attacker string      `help:"NILM attacker, or 'all' (each day is taken at its worst attacker)." default:"all"`
	Caps     []float64   `help:"Mean extra-energy budgets (%) to compare the families within." default:"2.5,3,3.5,4,5"`
	JSON     string      `name:"json" help:"Write every setting's means as a JSON array to this file." type:"path" placeholder:"FILE"`
	Plot     string      `help:"Write frontier.png (every setting, each family's frontier) to this directory." type:"path" placeholder:"DIR"`
}

func (c *privacyFrontierCmd) Run(*globals) error { return c.run(os.Stdout, os.Stderr) }

func (c *privacyFrontierCmd) run(stdout, stderr io.Writer) error {
	days, err := c.days()
	if err != nil {
		return err
	}
	b, err := c.Battery.battery()
	if err != nil {
		return err
	}
	attackers, err := pickAttackers(c.Attacker)
	if err != nil {
		return err
	}
	settings := eval.Settings()
	fmt.Fprintf(stderr, "usapp privacy frontier: %d settings x %d days; battery %g kWh / %g kW / round trip %g\n",
		len(settings), len(days), b.CapacityKWh, b.MaxDischargeKW, b.RoundTripEfficiency)
	t0 := time.Now()
	progress := func(done, total int) { fmt.Fprintf(stderr, "\rday %d/%d", done, total) }
	means, err := eval.MeasureSettings(days, b, settings, attackers, eval.DesignTarget, eval.Options{}, progress)
	fmt.Fprintln(stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "measured in %v\n", time.Since(t0).Round(time.Millisecond))
	writeCaps(stdout, means, c.Caps)
	writeFrontier(stdout, eval.Frontier(means))
	if c.Plot != "" {
		path, err := plot.Frontier(c.Plot, means, len(days), eval.DesignTarget)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "figure: %s\n", path)
	}
	if c.JSON != "" {
		if err := writeJSON(c.JSON, means); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "settings: %s\n", c.JSON)
	}
	return nil
}

// days resolves --data, expanding 'synthetic' to --homes seeds.
func (c *privacyFrontierCmd) days() ([]*household.Trace, error) {
	if c.Homes < 0 {
		return nil, hinted(fmt.Errorf("--homes %d: must not be negative", c.Homes), "set --homes to how many synthetic homes to use")
	}
	var out []*household.Trace
	for _, spec := range c.Data {
		if spec == eval.SourceSynthetic {
			for seed := int64(1); seed <= int64(c.Homes); seed++ {
				tr, err := loadData(spec, seed)
				if err != nil {
					return nil, err
				}
				out = append(out, tr)
			}
			continue
		}
		tr, err := loadData(spec, 0)
		if err != nil {
			return nil, err
		}
		out = append(out, tr)
	}
	if len(out) == 0 {
		return nil, hinted(errors.New("no days of demand"), "give --data, or --homes above 0 with 'synthetic'")
	}
	return out, nil
}

// writeCaps prints, per family, the lowest mean MI any setting reaches
// within each extra-energy cap, with its mean F1.
func writeCaps(w io.Writer, means []eval.SettingMeans, caps []float64) {
	fmt.Fprintln(w, "lowest mean MI bits (mean worst-attacker F1) of any setting within each mean extra-energy budget:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "family\t")
	for _, c := range caps {
		fmt.Fprintf(tw, "<= %g %%\t", c)
	}
	fmt.Fprintln(tw)
	for _, fam := range eval.Families(means) {
		fmt.Fprintf(tw, "%s\t", fam)
		for _, c := range caps {
			if m, ok := eval.BestWithin(means, fam, c); ok {
				fmt.Fprintf(tw, "%.3f (%.3f)\t", m.MIBits, m.F1)
			} else {
				fmt.Fprint(tw, "-\t")
			}
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// writeFrontier lists each family's undominated settings.
func writeFrontier(w io.Writer, front []eval.SettingMeans) {
	fmt.Fprintln(w, "\neach family's frontier (no setting of the family is lower on both energy and MI):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "family\tsetting\textra energy %\tMI bits\tF1\tdays within target\t")
	for _, m := range front {
		fmt.Fprintf(tw, "%s\t%s\t%.2f\t%.3f\t%.3f\t%d/%d\t\n", m.Family, m.Label, m.ExtraEnergyPct, m.MIBits, m.F1, m.WithinTarget, m.Days)
	}
	tw.Flush()
}
